"""The read-only web view: the register, each complaint, the SLA board, the month, recaps, admin lists.

Server-rendered (Starlette, jinja2, the html report's inline SVG charts), no
JavaScript. It reads the daemon's database and changes nothing: work is still
done by mail, so every change keeps its who, when and why in the history.
`daemon.web.app` builds the application; `caredesk web` serves it, and
`caredesk run` too when `[web] listen` is set.
"""
