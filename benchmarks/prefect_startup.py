"""Prefect's fixed cost for one `jianfu run`, each way of paying it, in a fresh process.

    python benchmarks/prefect_startup.py                  import Prefect, run a trivial flow with one task
                                                          (a running server when PREFECT_API_URL is set,
                                                          else Prefect's temporary server)
    python benchmarks/prefect_startup.py --sequential F   import the engine and parse F first, then the same
    python benchmarks/prefect_startup.py --overlap F      start the temporary server in a thread, import the
                                                          engine and parse F meanwhile, then the same flow

``--sequential`` minus ``--overlap`` is what overlapping the temporary server's start with parsing saves.
"""

import sys
import threading

from prefect import flow, task


@task
def one() -> int:
    return 1


@flow
def empty() -> int:
    return one()


def parse(path: str) -> None:
    import jianfu.workflow  # noqa: F401  (the engine's imports, as `jianfu run` pays them)
    from jianfu.ingest.readers import read_sheet

    read_sheet(path)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--overlap"]:
        from prefect.server.api.server import SubprocessASGIServer
        from prefect.settings import PREFECT_API_URL, temporary_settings

        server = SubprocessASGIServer()
        starting = threading.Thread(target=server.start)
        starting.start()
        parse(sys.argv[2])
        starting.join()
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            empty()
        server.stop()
    else:
        if sys.argv[1:2] == ["--sequential"]:
            parse(sys.argv[2])
        empty()
