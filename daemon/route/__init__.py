"""rules.yaml and routing.

Rule values (`rules`); the loader with file:line problems (`loader`, reading
through `reader`, one `section_*` module per part of the file); what a mail's
conditions read and mean (`words`, `facts`, `matchers`, `conditions`, `index`);
the router (`router`), and its context, decision and explanation text
(`decision`).
"""
