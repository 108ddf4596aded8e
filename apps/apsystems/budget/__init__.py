"""The API budget: ledger, solar window, plan, hard stop, the budget core and its year simulation."""
