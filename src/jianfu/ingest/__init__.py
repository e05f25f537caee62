"""Getting answers in: read an upload safely, recognise its layout, code it, locate every problem.

Modules: :mod:`~jianfu.ingest.readers` (xlsx/xls/CSV with size limits; large sheets
block by block through :mod:`~jianfu.ingest.xlsx_blocks`), :mod:`~jianfu.ingest.parse` (one file to
coded rows and located problems), :mod:`~jianfu.ingest.template` (the upload template HR offices fill in). Header
and label matching (:mod:`jianfu.normalize`) and masking of personal data (:mod:`jianfu.privacy`) sit below this
package, because the instrument, the problems and the exports use them too.
"""
