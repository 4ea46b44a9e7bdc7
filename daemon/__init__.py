"""caredesk: an email-driven customer-complaint ticketing daemon."""
