"""Prefect's fixed cost for one `jianfu run`: import, (temporary) server, one trivial flow with one task."""

from prefect import flow, task


@task
def one() -> int:
    return 1


@flow
def empty() -> int:
    return one()


if __name__ == "__main__":
    empty()
