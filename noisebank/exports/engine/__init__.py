"""The export engine: columns and an iterable of row tuples in, bytes out.

Pure Python: nothing here imports Django, so writers are tested without a database. The Django
side (filters, the column registry with its SQL, the row source, views, jobs) lives in
noisebank.exports and hands this package `Column`s and rows.
"""
