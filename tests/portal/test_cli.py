"""``jianfu office`` and ``jianfu portal``: the commands, through the ``jianfu`` console script's app."""

from __future__ import annotations

from typer.testing import CliRunner

from jianfu_flows.cli import app
from jianfu_portal.accounts import Accounts
from jianfu_portal.audit import AuditLog
from jianfu_portal.db import Database


def _accounts(data) -> Accounts:
    return Accounts(Database(data / "portal" / "portal.sqlite3"))


def test_office_add_list_passwd_remove(tmp_path):
    data, runner = tmp_path / "data", CliRunner()
    r = runner.invoke(app, ["office", "add", "城关镇", "--data-dir", str(data)], input="first-password-1\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["office", "add", "李研究", "--role", "researcher", "--data-dir", str(data)], input="second-password-2\n"
    )
    assert r.exit_code == 0, r.output
    listed = runner.invoke(app, ["office", "list", "--data-dir", str(data)])
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [
        ["城关镇", "office"],
        ["李研究", "researcher"],
    ]
    accounts = _accounts(data)
    assert accounts.verify("城关镇", "first-password-1").office == "城关镇"
    assert accounts.verify("李研究", "second-password-2").office is None

    assert (
        runner.invoke(app, ["office", "passwd", "城关镇", "--data-dir", str(data)], input="new-password-33\n").exit_code
        == 0
    )
    assert accounts.verify("城关镇", "first-password-1") is None and accounts.verify("城关镇", "new-password-33")
    assert runner.invoke(app, ["office", "remove", "城关镇", "--data-dir", str(data)]).exit_code == 0
    assert accounts.get("城关镇") is None
    assert runner.invoke(app, ["office", "remove", "城关镇", "--data-dir", str(data)]).exit_code == 1

    # Only an Argon2id hash is stored; the audit log names the account change, never the password.
    db = (data / "portal" / "portal.sqlite3").read_bytes()
    assert b"second-password-2" not in db and b"$argon2id$" in db
    log = AuditLog(data / "portal" / "audit.log")
    assert [e["event"] for e in log.entries()] == ["account.add", "account.add", "account.passwd", "account.remove"]
    assert "password" not in log.path.read_text(encoding="utf-8").replace('"account.passwd"', "")


def test_bad_names_roles_and_short_passwords_are_refused(tmp_path):
    data, runner = str(tmp_path / "data"), CliRunner()
    for args, stdin in (
        (["../etc"], "long-enough-password\n"),
        (["_"], "long-enough-password\n"),
        (["ok-name", "--role", "admin"], "long-enough-password\n"),
        (["ok-name"], "short\n"),
    ):
        r = runner.invoke(app, ["office", "add", *args, "--data-dir", data], input=stdin)
        assert r.exit_code == 2 and " / " in r.output, (args, r.output)
    runner.invoke(app, ["office", "add", "ok-name", "--data-dir", data], input="long-enough-password\n")
    r = runner.invoke(app, ["office", "add", "ok-name", "--data-dir", data], input="long-enough-password\n")
    assert r.exit_code == 2 and "已存在" in r.output


def test_portal_command_is_registered():
    r = CliRunner().invoke(app, ["portal", "--help"])
    assert r.exit_code == 0
    for option in ("--host", "--port", "--data-dir", "--https", "--process"):
        assert option in r.output
