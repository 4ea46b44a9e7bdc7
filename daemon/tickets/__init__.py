"""Processing a classified mail: new tickets, conversation on a ticket, the lifecycle, reply commands."""
