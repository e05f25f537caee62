"""The portal's words, Chinese first (the default) with an English switch.

Pages ask for a message by key (``t("status.accepted")``); the language comes from the ``jianfu_lang``
cookie that the switch in the page header sets. Messages that leave the portal as API errors carry
both languages instead (Chinese, then English), as every user-facing message of jianfu does.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["LANGS", "DEFAULT_LANG", "MESSAGES", "translator", "flag_label"]

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

MESSAGES: dict[str, tuple[str, str]] = {
    "app.title": ("减负 · 问卷数据上传", "jianfu · survey upload"),
    "app.lang_switch": ("English", "中文"),
    "nav.upload": ("上传文件", "Upload"),
    "nav.history": ("上传记录", "History"),
    "nav.waves": ("各期数据", "Waves"),
    "nav.logout": ("退出", "Log out"),
    "nav.signed_in": ("当前账号：{name}", "Signed in as {name}"),
    "login.heading": ("登录", "Log in"),
    "login.username": ("账号（单位名称）", "Account (office name)"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("账号或密码不正确", "Wrong account name or password"),
    "login.locked": (
        "登录失败次数过多，该账号已暂时锁定，请 {minutes} 分钟后再试",
        "Too many failed logins: this account is locked, try again in {minutes} minutes",
    ),
    "login.expired": ("登录已过期，请重新登录", "Your session has ended; please log in again"),
    "login.help": (
        "账号由本项目研究人员开设；忘记密码请联系研究人员重置。",
        "Accounts are created by the project's researchers; ask them to reset a forgotten password.",
    ),
    "upload.heading": ("上传问卷数据", "Upload survey data"),
    "upload.office": ("单位：{office}", "Office: {office}"),
    "upload.files": (
        "选择文件（可多选）：问卷星或腾讯问卷导出的 Excel / CSV，或填好的上传模板",
        "Choose files (several at once): the Excel / CSV export of 问卷星 or 腾讯问卷, or the filled-in template",
    ),
    "upload.submit": ("上传并检查", "Upload and check"),
    "upload.progress": ("正在上传…", "Uploading…"),
    "upload.checking": ("上传完成，正在检查…", "Uploaded; checking…"),
    "upload.failed": ("上传失败，请重试", "The upload failed; please try again"),
    "upload.template": ("下载上传模板（Excel）", "Download the upload template (Excel)"),
    "upload.researcher": (
        "研究人员账号不上传数据，请用单位账号上传；各单位的上传情况见“各期数据”。",
        "Researcher accounts do not upload; offices upload with their own accounts. See the waves.",
    ),
    "rules.heading": ("上传须知", "Before you upload"),
    "rules.formats": (
        "可上传问卷星、腾讯问卷导出的 Excel（.xlsx / .xls）或 CSV，也可上传填好的上传模板；请勿修改导出文件的表头。",
        "Upload the Excel (.xlsx / .xls) or CSV export of 问卷星 or 腾讯问卷, or the filled-in template; "
        "do not edit the export's header row.",
    ),
    "rules.limits": (
        "单个文件不超过 {mb} MB，一次最多上传 {n} 个文件。",
        "Each file at most {mb} MB; at most {n} files at once.",
    ),
    "rules.partial": (
        "个别单元格填写有误时，文件仍会被接收：有误的行被隔离、不参与分析，页面会列出每个有误的单元格及修改方法；"
        "只有表头不符或错误过多时，整个文件才不被接收。",
        "A file with a few wrong cells is still accepted: those rows are quarantined and left out of the analysis, "
        "and every wrong cell is listed with how to fix it. Only a wrong header or too many errors reject the file.",
    ),
    "rules.privacy": (
        "姓名、手机号、身份证号、IP 等个人信息在入库前删除，不会出现在分析报告中。",
        "Names, phone and ID numbers and IP addresses are removed before storage and never reach a report.",
    ),
    "rules.once": (
        "同一文件重复上传不会重复计入；修改后的文件请重新上传。",
        "Uploading the same file again does not count it twice; upload a corrected file again.",
    ),
    "result.heading": ("检查结果", "Check result"),
    "result.more": ("继续上传", "Upload more"),
    "result.history": ("查看上传记录", "See the history"),
    "status.accepted": ("已接收", "Accepted"),
    "status.rejected": ("未接收", "Rejected"),
    "status.processing": ("处理中", "Processing"),
    "status.accepted.note": ("已纳入本期分析。", "Included in this wave's analysis."),
    "status.processing.note": (
        "文件检查通过，已送入分析流程；本页会自动刷新。",
        "The file passed the check and is being taken into the analysis; this page refreshes itself.",
    ),
    "status.rejected.note": (
        "文件未被接收，请按下列问题修改后重新上传。",
        "The file was not accepted: fix the problems below and upload it again.",
    ),
    "result.duplicate": (
        "此文件（内容完全相同）已于 {time} 上传过，未重复处理；以下是该次上传的结果。",
        "This exact file was already received on {time} and was not processed again; its result is shown.",
    ),
    "result.received": ("上传时间", "Received"),
    "result.wave": ("期次", "Wave"),
    "result.sha256": ("文件指纹（SHA-256）", "Fingerprint (SHA-256)"),
    "rows.read": ("读取行数", "Rows read"),
    "rows.accepted": ("纳入分析", "Analysed"),
    "rows.quarantined": ("隔离", "Quarantined"),
    "flags.heading": ("隔离原因（行数）", "Why rows were quarantined (rows)"),
    "flag.speeder": ("作答过快", "answered too fast"),
    "flag.straightline": ("所有题目同一答案", "same answer to every item"),
    "flag.attention": ("注意力题未通过", "failed the attention check"),
    "flag.incomplete": ("作答不完整", "incomplete"),
    "flag.duplicate": ("重复提交", "duplicate submission"),
    "flag.invalid": ("含无效答案", "invalid answer"),
    "flag.careless": ("粗心作答（多项指标一致）", "careless responding (several indices agree)"),
    "problems.heading": ("问题清单（{n} 条）", "Problems ({n})"),
    "problems.none": ("没有发现问题。", "No problems found."),
    "problems.more": (
        "另有 {n} 条未显示；完整清单可从 /api/uploads/{id} 获取。",
        "{n} more not shown; the full list is at /api/uploads/{id}.",
    ),
    "problems.kind": ("类型", "Kind"),
    "problems.sheet": ("工作表", "Sheet"),
    "problems.row": ("行", "Row"),
    "problems.column": ("列", "Column"),
    "problems.value": ("值", "Value"),
    "problems.problem": ("问题", "Problem"),
    "problems.fix": ("修改方法", "How to fix"),
    "severity.error": ("错误", "error"),
    "severity.warning": ("提示", "note"),
    "report.refreshed": ("第 {wave} 期报告已于 {time} 更新。", "The report of wave {wave} was refreshed at {time}."),
    "report.pending": ("第 {wave} 期报告更新中…", "The report of wave {wave} is being refreshed…"),
    "history.heading": ("上传记录", "Upload history"),
    "history.empty": ("还没有上传记录。", "Nothing uploaded yet."),
    "history.office": ("单位", "Office"),
    "history.all": ("全部单位", "All offices"),
    "history.filter": ("筛选", "Filter"),
    "history.file": ("文件", "File"),
    "history.time": ("时间", "Time"),
    "history.status": ("状态", "Status"),
    "history.rows": ("行数（读取 / 分析 / 隔离）", "Rows (read / analysed / quarantined)"),
    "waves.heading": ("各期数据", "Waves"),
    "waves.none": ("数据库中还没有数据。", "The store holds no data yet."),
    "waves.wave": ("第 {wave} 期", "Wave {wave}"),
    "waves.office": ("单位", "Office"),
    "waves.files": ("文件数", "Files"),
    "waves.rejected": ("未接收", "Rejected"),
    "waves.rows_read": ("读取行数", "Rows read"),
    "waves.accepted": ("纳入分析", "Analysed"),
    "waves.quarantined": ("隔离", "Quarantined"),
    "waves.missing": ("尚未上传：{offices}", "Not uploaded yet: {offices}"),
    "waves.quality": ("隔离比例 {share}", "Quarantined share {share}"),
    "waves.processing": ("{n} 个文件处理中", "{n} files being processed"),
    "waves.report": ("下载最新报告（{time} 生成）", "Download the latest report (made {time})"),
    "waves.report_stale": ("报告待更新", "The report is out of date"),
    "waves.no_report": ("尚无报告", "No report yet"),
    "waves.reanalyse": ("重新分析", "Reanalyse"),
    "waves.queued": ("已安排重新分析第 {wave} 期。", "Reanalysis of wave {wave} queued."),
    "waves.off": (
        "本门户未开启自动处理，文件由定时任务（jianfu serve）处理。",
        "Processing is off here: the scheduled inbox run (jianfu serve) takes the files in.",
    ),
    "waves.last_error": ("上次处理失败：{error}", "The last run failed: {error}"),
    "waves.busy": ("数据库正忙，请稍后刷新。", "The store is busy; reload in a moment."),
    "error.heading": ("出错了", "Something went wrong"),
    "error.back": ("返回", "Back"),
}


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``lang`` (Chinese for an unknown language).

    Examples
    --------
    >>> translator("zh")("rows.read"), translator("en")("waves.wave", wave="2026-11")
    ('读取行数', 'Wave 2026-11')
    >>> translator("zh")("flag.some_future_flag")
    'some_future_flag'
    """
    index = 1 if lang == "en" else 0

    def t(key: str, **values: object) -> str:
        # A quality flag the engine adds later is shown by its name rather than breaking the page.
        text = MESSAGES[key][index] if key in MESSAGES else key.removeprefix("flag.")
        return text.format(**values) if values else text

    return t


def flag_label(name: str, lang: str) -> str:
    """The words for a quality flag (``invalid`` → 含无效答案)."""
    return translator(lang)(f"flag.{name}")
