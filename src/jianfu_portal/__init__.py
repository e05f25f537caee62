"""jianfu portal: the web page where each HR office uploads its survey files and sees at once what is wrong.

The portal is a third layer beside the engine (:mod:`jianfu`) and the flows (:mod:`jianfu_flows`): it
checks an upload with the engine's own validation (:func:`jianfu.pipeline.validate_files`), puts an
accepted file into ``inbox/<office>/`` exactly as an office would, and triggers the inbox flow (in this
process, or through the Prefect deployment when ``PREFECT_API_URL`` is set). It never writes to the
store itself.

Modules: :mod:`.config` (where and how it runs), :mod:`.db` (its SQLite file), :mod:`.accounts`,
:mod:`.sessions`, :mod:`.csrf`, :mod:`.lockout`, :mod:`.audit`, :mod:`.uploads`, :mod:`.trigger`,
:mod:`.waves`, :mod:`.i18n`, :mod:`.app` (the FastAPI application) and :mod:`.cli` (``jianfu portal``,
``jianfu office``). Importing the package imports none of them, so the ``jianfu`` command starts fast.
"""

__all__: list[str] = []
