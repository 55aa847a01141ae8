"""The randomuser source: `source.randomuser_source` (the dlt source), its HTTP fetching, checks and load files.

Kept free of imports so that its light modules (`helpers`: parsing a URL, nationalities, a batch plan;
`settings`) load without dlt: a `userpipe` command given bad input answers before dlt is imported (~1 s).
"""
