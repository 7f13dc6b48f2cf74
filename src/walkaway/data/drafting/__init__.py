"""Drafting a mapping from a new CRM export: the engine of ``walkaway mapping init``.

One module per job: ``column_profile`` profiles a sample of each file's columns (fill, distinct
values, numbers, yes/no words, dates); ``vocabulary`` holds the column names CRMs use for each
canonical column and sign; ``deals``, ``dates`` and ``side_tables`` guess the deals table, its
dates, and the accounts and products files, writing their findings in ``wording``'s words;
``draft`` assembles them (:func:`walkaway.data.drafting.draft.draft_mapping`) and
``yaml_render`` writes the draft as commented YAML.
"""
