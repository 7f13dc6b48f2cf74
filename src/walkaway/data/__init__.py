"""The data's way in: the canonical contract, mappings, reading exports and their related
tables, ``validate``'s quality checks, drafting a mapping, and the synthetic CRM."""
