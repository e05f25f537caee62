"""The portal's web application: server-rendered pages, a JSON API, and the security around them.

:func:`create_app` builds a FastAPI application from a :class:`~jianfu_portal.config.PortalConfig`.

Pages (plain HTML forms that work without JavaScript; one small script draws the upload progress bar):
``/login``, ``/upload``, ``/uploads`` (history), ``/uploads/<id>``, ``/uploads/batch/<batch>`` (the
result of one upload), ``/template``, and for researchers ``/waves`` with its report downloads and
reanalysis button. JSON API: ``GET /api/uploads``, ``GET /api/uploads/{id}``, ``POST /api/uploads``,
``GET /api/me``, ``GET /api/waves``, ``POST /api/waves/{wave}/reanalyse``.

Security: sessions in signed HttpOnly SameSite=Strict cookies (:mod:`.sessions`), a CSRF token on every
POST (:mod:`.csrf`), login lockout (:mod:`.lockout`), an audit log (:mod:`.audit`), and on every response
a Content-Security-Policy without inline scripts or styles, ``frame-ancestors 'none'``,
``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store`` (HSTS behind HTTPS). An office sees
only its own uploads: anything else answers 404, exactly as if it did not exist.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException

from jianfu.errors import StoreBusy
from jianfu.instrument import FLAG_NAMES

from . import csrf
from .accounts import Account, Accounts
from .audit import AuditLog
from .config import PortalConfig
from .db import Database
from .i18n import DEFAULT_LANG, LANGS, translator
from .lockout import Lockout
from .sessions import Session, Sessions, cookie_name, cookie_options, load_key
from .trigger import Runner, jobs
from .uploads import BadUpload, UploadService, UploadTooLarge, receive_files
from .waves import latest_report, overview

__all__ = ["create_app", "Portal", "CSP"]

log = logging.getLogger("jianfu.portal")
HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
LANG_COOKIE = "jianfu_lang"
#: Problems listed on a page per file; the API always has them all.
MAX_SHOWN_PROBLEMS = 200


class NotLoggedIn(Exception):
    """No live session: pages redirect to /login, the API answers 401."""


def _bilingual(zh: str, en: str) -> str:
    return f"{zh} / {en}"


class SecurityHeaders:
    """Pure ASGI middleware: the security headers on every response (streamed bodies untouched)."""

    def __init__(self, app, hsts: bool = False):
        self.app, self.hsts = app, hsts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                if not scope["path"].startswith("/static/"):
                    headers["Cache-Control"] = "no-store"
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Portal:
    """Everything the routes share: the database and its services, the instrument, the background runner."""

    def __init__(self, cfg: PortalConfig, inst=None):
        from jianfu.instrument import load_instrument

        self.cfg = cfg
        self.settings = cfg.settings()
        self.inst = inst if inst is not None else load_instrument(cfg.instrument)
        self.db = Database(cfg.portal_dir / "portal.sqlite3")
        key = load_key(cfg.portal_dir / "secret_key")
        self.accounts = Accounts(self.db)
        self.sessions = Sessions(self.db, key, cfg.idle_minutes * 60, cfg.max_session_hours * 3600, clock=cfg.clock)
        self.login_tokens = csrf.LoginTokens(key)
        self.lockout = Lockout(
            self.db, cfg.lockout_failures, cfg.lockout_window_seconds, cfg.lockout_seconds, clock=cfg.clock
        )
        self.audit = AuditLog(cfg.portal_dir / "audit.log")
        self.uploads = UploadService(self.db, self.inst, self.settings, cfg.portal_dir / "staging")
        self.mode = cfg.process_mode()
        inbox_job, reanalyse_job = jobs(cfg, self.mode)
        self.runner = Runner(inbox_job, reanalyse_job, self.uploads.refresh, debounce=cfg.debounce_seconds)
        self.session_cookie = cookie_name("jianfu_session", cfg.secure_cookies)
        self.login_cookie = cookie_name("jianfu_login", cfg.secure_cookies)
        self._refreshed = 0.0
        self._refresh_lock = threading.Lock()
        env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
        self.templates = Jinja2Templates(env=env)

    # -- helpers ------------------------------------------------------------------------

    def wave_now(self) -> str:
        """The wave an upload received now belongs to (the schedules' rule and time zone)."""
        from jianfu.pipeline import wave_label

        return wave_label(self.cfg.wave_rule, timezone=self.cfg.timezone)

    def refresh(self) -> None:
        """Settle finished uploads from the store, at most once a second and never two at a time."""
        if time.monotonic() - self._refreshed < 1.0 or not self._refresh_lock.acquire(blocking=False):
            return
        try:
            self.uploads.refresh(timeout=0.5)
            self._refreshed = time.monotonic()
        finally:
            self._refresh_lock.release()

    def local_time(self, iso: str | None) -> str:
        """An ISO time shown in the portal's time zone, to the minute."""
        if not iso:
            return ""
        return datetime.fromisoformat(iso).astimezone(ZoneInfo(self.cfg.timezone)).strftime("%Y-%m-%d %H:%M")

    def template_file(self) -> Path:
        """The upload template of the instrument, written once per instrument version."""
        from jianfu.ingest.template import write_template

        path = self.cfg.portal_dir / "template" / f"jianfu_template_{self.inst.id}_v{self.inst.version}.xlsx"
        if not path.exists():
            tmp = path.with_name(f".{path.name}.{threading.get_ident()}.part")
            write_template(self.inst, tmp)
            tmp.replace(path)
        return path


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _lang(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANG)
    return lang if lang in LANGS else DEFAULT_LANG


def _safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (another site, ``//host``) becomes ``/``.

    Examples
    --------
    >>> _safe_next("/uploads?office=a"), _safe_next("//evil.example"), _safe_next("https://evil.example")
    ('/uploads?office=a', '/', '/')
    """
    if target and re.match(r"^/(?![/\\])", target) and "\\" not in target:
        return target
    return "/"


def create_app(cfg: PortalConfig, inst=None) -> FastAPI:
    """The portal application for ``cfg`` (its database, key and folders are created on first use).

    ``inst`` is the instrument of ``cfg.instrument`` when the caller has loaded it already.
    """
    portal = Portal(cfg, inst)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if await run_in_threadpool(portal.uploads.recover):
            portal.runner.kick()
        yield
        portal.runner.close()

    app = FastAPI(title="jianfu portal", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.portal = portal
    app.add_middleware(SecurityHeaders, hsts=cfg.secure_cookies)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # -- sessions, rendering, errors -------------------------------------------------------

    def current(request: Request) -> tuple[Account, Session] | None:
        session = portal.sessions.load(request.cookies.get(portal.session_cookie))
        if session is None:
            return None
        account = portal.accounts.get(session.name)
        return (account, session) if account else None

    def require(request: Request, researcher: bool = False) -> tuple[Account, Session]:
        found = current(request)
        if found is None:
            raise NotLoggedIn
        if researcher and not found[0].is_researcher:
            raise HTTPException(403, _bilingual("此页面仅供研究人员使用", "this page is for researchers"))
        return found

    def check_csrf(request: Request, account: Account, session: Session, given: str | None) -> None:
        if not csrf.tokens_match(session.csrf, given):
            portal.audit.write("csrf.failed", account.name, office=account.office, ip=_ip(request))
            raise HTTPException(
                403,
                _bilingual(
                    "页面已过期或请求无效，请刷新页面后重试",
                    "the form has expired or the request is not valid: reload the page and try again (CSRF)",
                ),
            )

    def render(
        request: Request, name: str, status: int = 200, who: tuple[Account, Session] | None = None, **context
    ) -> HTMLResponse:
        lang = _lang(request)
        account, session = who if who else (None, None)
        context |= {
            "t": translator(lang),
            "lang": lang,
            "account": account,
            "csrf_token": session.csrf if session else context.get("csrf_token"),
            "path": request.url.path,
            "local_time": portal.local_time,
        }
        return portal.templates.TemplateResponse(request, name, context, status_code=status)

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": _bilingual("请先登录", "log in first")}, status_code=401)
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        headers = getattr(exc, "headers", None)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
        detail = exc.detail if exc.status_code != 404 else _bilingual("页面不存在", "not found")
        return render(request, "error.html", exc.status_code, current(request), message=detail)

    def not_found() -> HTTPException:
        return HTTPException(404, _bilingual("没有这条上传记录", "no such upload"))

    # -- login ------------------------------------------------------------------------

    def login_page(
        request: Request,
        status: int = 200,
        error: str | None = None,
        token: str | None = None,
        next_: str = "/",
        headers: dict | None = None,
    ) -> HTMLResponse:
        cookie = request.cookies.get(portal.login_cookie)
        token = token or portal.login_tokens.token_of(cookie)
        new_cookie = None
        if token is None:
            new_cookie, token = portal.login_tokens.issue()
        response = render(request, "login.html", status, csrf_token=token, error=error, next=_safe_next(next_))
        if new_cookie:
            response.set_cookie(portal.login_cookie, new_cookie, **cookie_options(cfg.secure_cookies, 2 * 3600))
        for k, v in (headers or {}).items():
            response.headers[k] = v
        return response

    @app.get("/login")
    def login_form(request: Request, next: str = "/", expired: int = 0):
        if current(request):
            return RedirectResponse(_safe_next(next), status_code=303)
        t = translator(_lang(request))
        return login_page(request, error=t("login.expired") if expired else None, next_=next)

    @app.post("/login")
    async def login(request: Request):
        form = await request.form()
        name, password = str(form.get("username", "")), str(form.get("password", ""))
        token, next_ = str(form.get(csrf.FIELD, "")), str(form.get("next", "/"))
        t = translator(_lang(request))
        if not portal.login_tokens.check(request.cookies.get(portal.login_cookie), token):
            portal.audit.write("csrf.failed", None, ip=_ip(request))
            raise HTTPException(
                403,
                _bilingual(
                    "登录页面已过期，请刷新后重试", "the login form has expired: reload it and try again (CSRF)"
                ),
            )
        known = portal.accounts.get(name) if name.strip() else None
        # A name that is no account is logged as unknown: it may be a password typed in the wrong field.
        who = known.name if known else None
        wait = portal.lockout.retry_after(name)
        if wait:
            portal.audit.write("login.locked", who, ip=_ip(request))
            return login_page(
                request, 429, t("login.locked", minutes=-(-wait // 60)), token, next_, {"Retry-After": str(wait)}
            )
        account = await run_in_threadpool(portal.accounts.verify, name, password)
        if account is None:
            locked_for = portal.lockout.failed(name)
            portal.audit.write("login.failed", who, ip=_ip(request))
            if locked_for:
                portal.audit.write("login.locked", who, ip=_ip(request))
            return login_page(request, 401, t("login.failed"), token, next_)
        portal.lockout.succeeded(name)
        cookie, _ = portal.sessions.create(account.name)
        portal.audit.write("login", account.name, office=account.office, ip=_ip(request), role=account.role)
        target = _safe_next(next_)
        if target == "/":
            target = "/waves" if account.is_researcher else "/upload"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(portal.session_cookie, cookie, **cookie_options(cfg.secure_cookies))
        response.delete_cookie(
            portal.login_cookie, path="/", secure=cfg.secure_cookies, httponly=True, samesite="strict"
        )
        return response

    @app.post("/logout")
    async def logout(request: Request):
        account, session = require(request)
        form = await request.form()
        check_csrf(request, account, session, request.headers.get(csrf.HEADER) or form.get(csrf.FIELD))
        portal.sessions.end(request.cookies.get(portal.session_cookie))
        portal.audit.write("logout", account.name, office=account.office, ip=_ip(request))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(
            portal.session_cookie, path="/", secure=cfg.secure_cookies, httponly=True, samesite="strict"
        )
        return response

    @app.get("/lang/{lang}")
    def switch_language(lang: str, next: str = "/"):
        response = RedirectResponse(_safe_next(next), status_code=303)
        if lang in LANGS:
            response.set_cookie(LANG_COOKIE, lang, **cookie_options(cfg.secure_cookies, 365 * 86400))
        return response

    @app.get("/")
    def home(request: Request):
        found = current(request)
        if not found:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse("/waves" if found[0].is_researcher else "/upload", status_code=303)

    # -- uploads ------------------------------------------------------------------------

    def present(rec: dict, duplicate: bool, lang: str) -> dict:
        """What a page shows of one upload: the API item plus the words and the report state."""
        item = UploadService.item(rec)
        t = translator(lang)
        problems = [
            {
                "kind": p.get("severity", "error"),
                "sheet": p.get("sheet"),
                "row": p.get("row"),
                "column": p.get("column"),
                "value": p.get("value"),
                "text": p.get("en") if lang == "en" else p.get("zh"),
                "fix": p.get("fix_en") if lang == "en" else p.get("fix_zh"),
            }
            for p in item["errors"]
        ]
        # Errors (why a file was refused) first, then the cells in the order a clerk scrolls the sheet.
        problems.sort(key=lambda p: (p["kind"] != "error", p["row"] is not None, p["row"] or 0))
        report = None
        if item["status"] == "accepted":
            found = latest_report(cfg.reports_dir, portal.inst, item["wave"])
            if found is not None:
                at = datetime.fromtimestamp(found.stat().st_mtime, ZoneInfo(cfg.timezone)).strftime("%Y-%m-%d %H:%M")
                report = t("report.refreshed", wave=item["wave"], time=at)
        elif item["status"] == "processing":
            report = t("report.pending", wave=item["wave"])
        return item | {
            "duplicate": duplicate,
            "problems": problems[:MAX_SHOWN_PROBLEMS],
            "more_problems": max(0, len(problems) - MAX_SHOWN_PROBLEMS),
            "flag_rows": [(t(f"flag.{k}"), v) for k, v in item["flags"].items() if v and k in FLAG_NAMES],
            "report": report,
        }

    async def receive(request: Request, account: Account, session: Session) -> list[tuple[dict, bool]]:
        if account.office is None:
            raise HTTPException(
                403,
                _bilingual(
                    "研究人员账号不上传数据，请用单位账号上传",
                    "researcher accounts do not upload; use an office account",
                ),
            )
        header = request.headers.get(csrf.HEADER)
        if header is not None:  # refuse a forged scripted upload before reading its body
            check_csrf(request, account, session, header)
        try:
            received, fields = await receive_files(
                request.headers.get("content-type", ""),
                request.headers.get("content-length"),
                request.stream(),
                portal.uploads.staging,
                cfg.limits.max_bytes,
                cfg.max_files,
            )
        except UploadTooLarge as exc:
            portal.audit.write(
                "upload.too_large", account.name, office=account.office, ip=_ip(request), filename=exc.filename
            )
            raise HTTPException(413, str(exc)) from None
        except BadUpload as exc:
            raise HTTPException(400, str(exc)) from None
        if header is None:
            try:
                check_csrf(request, account, session, fields.get(csrf.FIELD))
            except HTTPException:
                for r in received:
                    await run_in_threadpool(_discard, r.path.parent)
                raise
        if not received:
            raise HTTPException(400, _bilingual("请选择要上传的文件", "choose the files to upload"))
        wave = portal.wave_now()
        results = []
        for r in received:
            rec, duplicate = await run_in_threadpool(portal.uploads.accept, r, account, wave)
            portal.audit.write(
                "upload.duplicate" if duplicate else "upload",
                account.name,
                office=account.office,
                sha256=rec["sha256"],
                ip=_ip(request),
                upload_id=rec["id"],
                filename=r.filename,
                status=UploadService.item(rec)["status"],
                wave=rec["wave"],
                bytes=r.size,
            )
            results.append((rec, duplicate))
        if any(not dup for _, dup in results):
            portal.runner.kick()
        return results

    @app.get("/upload")
    def upload_form(request: Request):
        who = require(request)
        limits = cfg.limits
        return render(request, "upload.html", who=who, max_mb=f"{limits.max_bytes / 2**20:g}", max_files=cfg.max_files)

    @app.post("/upload")
    async def upload(request: Request):
        account, session = require(request)
        results = await receive(request, account, session)
        batch = await run_in_threadpool(portal.uploads.record_batch, account.office, results)
        return RedirectResponse(f"/uploads/batch/{batch}", status_code=303)

    @app.get("/uploads/batch/{batch}")
    def upload_result(request: Request, batch: str):
        who = require(request)
        portal.refresh()
        office, results = portal.uploads.batch(batch)
        if office is None or not who[0].can_see(office):
            raise not_found()
        shown = [present(rec, dup, _lang(request)) for rec, dup in results]
        return render(
            request, "result.html", who=who, uploads=shown, refresh=any(u["status"] == "processing" for u in shown)
        )

    @app.get("/uploads")
    def history(request: Request, office: str | None = None):
        who = require(request)
        portal.refresh()
        account = who[0]
        chosen = office if account.is_researcher and office else account.office
        rows = [UploadService.item(r) for r in portal.uploads.list(chosen)]
        offices = portal.accounts.offices() if account.is_researcher else []
        return render(
            request,
            "uploads.html",
            who=who,
            uploads=rows,
            offices=offices,
            chosen=chosen,
            refresh=any(u["status"] == "processing" for u in rows),
        )

    @app.get("/uploads/{upload_id}")
    def upload_detail(request: Request, upload_id: str):
        who = require(request)
        portal.refresh()
        rec = portal.uploads.get(upload_id)
        if rec is None or not who[0].can_see(rec["office"]):
            raise not_found()
        shown = present(rec, False, _lang(request))
        return render(request, "result.html", who=who, uploads=[shown], refresh=shown["status"] == "processing")

    @app.get("/template")
    def template(request: Request):
        account, _ = require(request)
        path = portal.template_file()
        portal.audit.write(
            "download.template",
            account.name,
            office=account.office,
            sha256=sha256_file(path),
            ip=_ip(request),
            path=path.name,
        )
        return FileResponse(
            path,
            filename=f"jianfu_上传模板_{portal.inst.id}_v{portal.inst.version}.xlsx",
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    # -- researchers ----------------------------------------------------------------------

    def wave_list() -> tuple[list[dict], bool]:
        try:
            data = overview(
                portal.inst,
                portal.settings,
                portal.accounts.offices(),
                portal.uploads.pending_by_wave(),
                cfg.timezone,
            )
        except StoreBusy:
            return [], True
        return data, False

    @app.get("/waves")
    def waves(request: Request, queued: str | None = None):
        who = require(request, researcher=True)
        portal.refresh()
        data, busy = wave_list()
        return render(
            request,
            "waves.html",
            who=who,
            waves=data,
            busy=busy,
            queued=queued,
            mode=portal.mode,
            last_error=portal.runner.last_error,
            running=portal.runner.busy(),
        )

    @app.post("/waves/{wave}/reanalyse")
    async def reanalyse(request: Request, wave: str):
        account, session = require(request, researcher=True)
        form = await request.form()
        check_csrf(request, account, session, request.headers.get(csrf.HEADER) or form.get(csrf.FIELD))
        queued = portal.runner.reanalyse(wave)
        portal.audit.write("reanalyse", account.name, ip=_ip(request), wave=wave)
        return RedirectResponse(f"/waves?queued={quote(wave)}" if queued else "/waves", status_code=303)

    @app.get("/waves/{wave}/report")
    def report(request: Request, wave: str):
        account, _ = require(request, researcher=True)
        path = latest_report(cfg.reports_dir, portal.inst, wave)
        if path is None:
            raise HTTPException(404, _bilingual("该期还没有报告", "this wave has no report yet"))
        portal.audit.write(
            "download.report", account.name, sha256=sha256_file(path), ip=_ip(request), wave=wave, path=path.name
        )
        return FileResponse(
            path, filename=path.name, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )

    # -- JSON API -----------------------------------------------------------------------------

    @app.get("/api/me")
    def me(request: Request):
        account, session = require(request)
        return {"name": account.name, "role": account.role, "office": account.office, "csrf_token": session.csrf}

    @app.get("/api/uploads")
    def api_uploads(request: Request, office: str | None = None):
        account, _ = require(request)
        portal.refresh()
        chosen = office if account.is_researcher and office else account.office
        return [UploadService.item(r) for r in portal.uploads.list(chosen)]

    @app.get("/api/uploads/{upload_id}")
    def api_upload(request: Request, upload_id: str):
        account, _ = require(request)
        portal.refresh()
        rec = portal.uploads.get(upload_id)
        if rec is None or not account.can_see(rec["office"]):
            raise not_found()
        return UploadService.item(rec)

    @app.post("/api/uploads")
    async def api_post_uploads(request: Request):
        account, session = require(request)
        out = []
        for rec, duplicate in await receive(request, account, session):
            item = UploadService.item(rec)
            if duplicate:
                item["errors"] = [_duplicate_notice(item, portal.local_time(item["received_at"])), *item["errors"]]
            out.append(item)
        return out

    @app.get("/api/waves")
    def api_waves(request: Request):
        require(request, researcher=True)
        portal.refresh()
        data, busy = wave_list()
        if busy:
            raise HTTPException(503, _bilingual("数据库正忙，请稍后重试", "the store is busy; try again shortly"))
        return data

    @app.post("/api/waves/{wave}/reanalyse")
    async def api_reanalyse(request: Request, wave: str):
        account, session = require(request, researcher=True)
        check_csrf(request, account, session, request.headers.get(csrf.HEADER))
        queued = portal.runner.reanalyse(wave)
        portal.audit.write("reanalyse", account.name, ip=_ip(request), wave=wave)
        return {"wave": wave, "queued": queued}

    return app


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _discard(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _duplicate_notice(item: dict, when: str) -> dict:
    """The problem-shaped note that tells a script its upload was received before."""
    zh = f"此文件（内容完全相同）已于 {when} 上传过，未重复处理"
    en = f"this exact file was already received on {when} and was not processed again"
    fix_zh, fix_en = (
        "无需再次上传；更正后的文件请作为新文件上传",
        "nothing to do; upload a corrected file as a new file",
    )
    return {
        "code": "upload.duplicate",
        "severity": "warning",
        "zh": zh,
        "en": en,
        "fix_zh": fix_zh,
        "fix_en": fix_en,
        "file": item["filename"],
        "sheet": None,
        "row": None,
        "column": None,
        "value": None,
        "message": f"{zh}。修改方法：{fix_zh} | {en}. Fix: {fix_en}",
    }
