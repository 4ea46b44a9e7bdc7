"""What a mail is: complaint, follow-up, department update, recap, automated mail, bounce."""
