"""Service levels: the working calendar, the policy, stamping due dates on tickets."""
