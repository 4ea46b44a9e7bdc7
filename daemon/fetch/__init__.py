"""Where mail comes from: the mailbox interface, IMAP, Maildir, and the intake that stores raw mail."""
