"""The practice library's pages and read-only JSON API: parse, call one query or service, render."""

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.http import content_disposition_header
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ..access import delegation_of, is_secretariat, require_secretariat
from ..library import bulk_import, exports, queries, services
from ..models import LibraryTheme, Meeting, Practice, PracticeLevel, PracticeStatus, Session
from ..services import ActionRefused

PAGE_SIZE = 20
API_PAGE_SIZE = 50


def _search(request, page_size, load=queries.load_page):
    query = request.GET.get("q", "")[:2000]
    filters = queries.parse_filters(request.GET)
    results = queries.search_library(request.user, query=query, filters=filters)
    page = Paginator(results.ids, page_size).get_page(request.GET.get("page"))
    return results, page, load(list(page.object_list))


def library_list(request):
    results, page, practices = _search(request, PAGE_SIZE, queries.load_cards)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "results": results,
        "page": page,
        "practices": practices,
        "query_string": params.urlencode(),
        "is_secretariat": is_secretariat(request.user),
        "nav_active": "library",
    }
    template = "sessions_app/library_list.html#library-results" if request.htmx else "sessions_app/library_list.html"
    response = render(request, template, context)
    # One address, the fragment or the page: a browser's cache must not serve the one for the other.
    patch_vary_headers(response, ("HX-Request",))
    return response


EXPORTS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def library_export(request, fmt):
    """The library's current search and filters as a compendium (.docx), CSV or XLSX; what the page shows."""
    if fmt not in EXPORTS:
        raise Http404
    query = request.GET.get("q", "")[:2000]
    filters = queries.parse_filters(request.GET)
    if fmt == "docx":
        content = exports.library_docx(request.user, query=query, filters=filters)
    else:
        base_url = request.build_absolute_uri("/").rstrip("/")
        build = exports.library_csv if fmt == "csv" else exports.library_xlsx
        content = build(request.user, query=query, filters=filters, base_url=base_url)
        if fmt == "csv":
            content = b"".join(content)  # at most MAX_EXPORT rows: one response, under WSGI and ASGI alike
    response = HttpResponse(content, content_type=EXPORTS[fmt])
    response["Content-Disposition"] = content_disposition_header(True, f"practice-library.{fmt}")
    return response


def _get_visible(request, practice_id) -> Practice:
    practice = (
        queries.visible_practices(request.user)
        .select_related("delegation", "session__meeting", "question")
        .prefetch_related("library_themes", "themes")
        .filter(pk=practice_id)
        .first()
    )
    if practice is None:
        # A merged duplicate's address leads to the practice it was merged into.
        merged = Practice.objects.filter(pk=practice_id, merged_into__isnull=False).first()
        if merged and queries.visible_practices(request.user).filter(pk=merged.merged_into_id).exists():
            return queries.visible_practices(request.user).get(pk=merged.merged_into_id)
        raise Http404
    return practice


def library_detail(request, practice_id):
    practice = _get_visible(request, practice_id)
    if practice.pk != practice_id:
        return redirect("library_practice", practice_id=practice.pk)
    context = {
        "practice": practice,
        "provenances": queries.provenances(practice),
        "related": queries.related_practices(request.user, practice),
        "links": [line.strip() for line in practice.links.splitlines() if line.strip().startswith(("http://", "https://"))],
        "is_secretariat": is_secretariat(request.user),
        "nav_active": "library",
    }
    # The themes the delegation typed are unreviewed text in one language: the library's readers get
    # the vocabulary the secretariat maps them onto; those who keep the practice see both.
    delegation = delegation_of(request.user)
    if context["is_secretariat"] or (delegation is not None and delegation.pk == practice.delegation_id):
        context["free_themes"] = [theme.name for theme in practice.themes.all()]
    if context["is_secretariat"]:
        context["merge_query"] = request.GET.get("merge_q", "")[:500]
        context["merge_candidates"] = queries.merge_candidates(request.user, practice, query=context["merge_query"])
    return render(request, "sessions_app/library_detail.html", context)


@require_POST
def library_curate(request, practice_id):
    require_secretariat(request.user)
    practice = get_object_or_404(Practice, pk=practice_id)
    action = request.POST.get("action", "")
    try:
        if action == "merge":
            into = request.POST.get("into", "").strip().lstrip("#")
            target = Practice.objects.filter(pk=int(into)).first() if into.isdigit() else None
            if target is None:
                raise ActionRefused(_("Choose the practice to keep."))
            practice = services.merge_practices(target, duplicate=practice, user=request.user)
        else:
            services.curate_practice(practice, user=request.user, action=action)
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("library_practice", practice_id=practice.pk)
    if action == "retire":
        messages.success(request, _("The practice was retired from the library."))
        return redirect("library")
    return redirect("library_practice", practice_id=practice.pk)


def _as_json(practice: Practice, request) -> dict:
    meeting = practice.session.meeting
    return {
        "id": practice.pk,
        "url": request.build_absolute_uri(reverse("library_practice", args=[practice.pk])),
        "title": practice.title,
        "country": practice.delegation.code,
        "country_name": practice.delegation.name,
        "themes": [{"slug": t.slug, "en": t.name_en, "fr": t.name_fr} for t in practice.library_themes.all()],
        "level": practice.level,
        "status": practice.status,
        "year_started": practice.year_started,
        "language": practice.language,
        "verified": practice.verified,
        "meeting": {"slug": meeting.slug, "title": meeting.title},
        "session": {"number": practice.session.number, "title": practice.session.title},
    }


def api_list(request):
    results, page, practices = _search(request, API_PAGE_SIZE)
    return JsonResponse(
        {
            "count": results.total,
            # More practices match the words than are ranked and counted (the newest `count` are).
            "capped": results.capped,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "results": [_as_json(p, request) for p in practices],
            "facets": {f.name: [{"value": o["value"], "count": o["count"]} for o in f.options] for f in results.facets},
        }
    )


def api_detail(request, practice_id):
    practice = _get_visible(request, practice_id)
    data = _as_json(practice, request)
    data.update(
        description=practice.description,
        problem=practice.problem,
        what_was_done=practice.what_was_done,
        results=practice.results,
        lessons=practice.lessons,
        links=[line.strip() for line in practice.links.splitlines() if line.strip()],
        contact=practice.contact if practice.contact_consent else "",
        provenance=[
            {
                "meeting": p.session.meeting.slug,
                "session": p.session.number,
                "question": p.question.text if p.question_id else None,
                "country": p.delegation.code,
            }
            for p in queries.provenances(practice)
        ],
    )
    return JsonResponse(data)


@login_required
def library_edit(request, practice_id):
    """The delegation completes its practice's library fields, also after the meeting."""
    practice = get_object_or_404(Practice.objects.select_related("delegation", "session__meeting"), pk=practice_id)
    delegation = delegation_of(request.user)
    if not is_secretariat(request.user) and (delegation is None or delegation.pk != practice.delegation_id):
        raise PermissionDenied
    error = ""
    if request.method == "POST":
        data = {name: request.POST.get(name, "") for name in (*services.TEXT_FIELDS, "level", "status", "year_started")}
        data["themes"] = request.POST.getlist("themes")
        data["contact_consent"] = request.POST.get("contact_consent") == "on"
        try:
            services.update_library_fields(practice, user=request.user, data=data)
        except ActionRefused as refusal:
            error = refusal.message
        else:
            messages.success(request, _("The practice's library details were saved."))
            return redirect("library_edit", practice_id=practice.pk)
    context = {
        "practice": practice,
        "error": error,
        "themes": list(LibraryTheme.objects.all()),
        "chosen": {t.pk for t in practice.library_themes.all()},
        "levels": PracticeLevel.choices,
        "statuses": PracticeStatus.choices,
        "nav_active": "library",
    }
    return render(request, "sessions_app/library_form.html", context, status=422 if error else 200)


def library_peer(request, session_id):
    """Peer learning: practices from earlier meetings on a session's themes (fragment for htmx, else a page)."""
    session = get_object_or_404(Session.objects.select_related("meeting"), pk=session_id)
    context = {"session": session, "peers": queries.practices_for_session(request.user, session), "nav_active": "library"}
    template = "sessions_app/library_peer.html#library-peer" if request.htmx else "sessions_app/library_peer.html"
    return render(request, template, context)


@login_required
def library_themes(request):
    """The secretariat keeps the vocabulary and maps the delegations' free-text themes onto it."""
    require_secretariat(request.user)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "map":
                theme = LibraryTheme.objects.filter(slug=request.POST.get("theme", "")).first()
                if theme is None:
                    raise ActionRefused(_("Choose a theme from the list."))
                gained = services.map_free_theme(user=request.user, name=request.POST.get("name", ""), theme=theme)
                messages.success(request, ngettext("%(count)s practice gained the theme.", "%(count)s practices gained the theme.",
                                                    gained) % {"count": gained})
            else:
                services.add_library_theme(user=request.user, name_en=request.POST.get("name_en", ""), name_fr=request.POST.get("name_fr", ""))
                messages.success(request, _("The theme was added."))
        except ActionRefused as refusal:
            error = refusal.message
        else:
            return redirect("library_themes")
    context = {
        "themes": list(LibraryTheme.objects.annotate(n=Count("practices")).order_by("name_en")),
        "suggestions": queries.free_theme_suggestions(),
        "error": error,
        "nav_active": "library",
    }
    return render(request, "sessions_app/library_themes.html", context, status=422 if error else 200)


def _upload_path(token: str):
    from django.conf import settings

    return settings.DATA_DIR / "library-imports" / f"{token}.bin"


@login_required
def library_import(request):
    """The secretariat imports a compendium spreadsheet: upload, map the columns in a preview, confirm.

    Until the confirmation the file waits in DATA_DIR/library-imports (named by a random token kept in
    the secretariat's session), not in the database; the confirmation stores every row or none."""
    import secrets

    require_secretariat(request.user)
    meetings = list(Meeting.objects.order_by("-start_date", "title"))
    context = {"meetings": meetings, "choices": bulk_import.field_choices(), "nav_active": "library", "errors": []}
    if request.method != "POST":
        return render(request, "sessions_app/library_import.html", context)
    action = request.POST.get("action", "upload")
    stored = request.session.get("library_import") or {}
    try:
        if action == "upload":
            upload = request.FILES.get("file")
            if upload is None:
                raise ActionRefused(_("Choose the file to import."))
            bulk_import.check_size(upload.size)  # before reading a large file into memory
            data = upload.read()
            sheet = bulk_import.read_spreadsheet(upload.name, data)
            meeting = Meeting.objects.filter(pk=request.POST.get("meeting") or 0).first()
            if meeting is None:
                raise ActionRefused(_("Choose the meeting the practices were shared at."))
            token = secrets.token_urlsafe(24)
            path = _upload_path(token)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if stored.get("token"):
                _upload_path(stored["token"]).unlink(missing_ok=True)
            stored = {"token": token, "name": upload.name, "meeting": meeting.pk}
            request.session["library_import"] = stored
            mapping = bulk_import.suggest_mapping(sheet.headers)
        else:
            if not stored.get("token") or not _upload_path(stored["token"]).exists():
                raise ActionRefused(_("The uploaded file is no longer here; upload it again."))
            sheet = bulk_import.read_spreadsheet(stored["name"], _upload_path(stored["token"]).read_bytes())
            meeting = get_object_or_404(Meeting, pk=stored["meeting"])
            mapping = [request.POST.get(f"column-{index}", "") for index in range(len(sheet.headers))]
    except ActionRefused as refusal:
        context["errors"] = [refusal.message]
        return render(request, "sessions_app/library_import.html", context, status=422)
    if action == "confirm":
        try:
            count = bulk_import.import_practices(meeting, user=request.user, sheet=sheet, mapping=mapping)
        except ActionRefused:
            pass  # the checked rows below say which rows are wrong; nothing was stored
        else:
            _upload_path(stored["token"]).unlink(missing_ok=True)
            request.session.pop("library_import", None)
            messages.success(request, _("%(count)s practices were imported into the library.") % {"count": count})
            return redirect(reverse("library") + "?" + f"meeting={meeting.slug}")
    checked = bulk_import.check_rows(sheet, mapping, meeting)
    context.update(
        sheet=sheet,
        meeting=meeting,
        columns=[{"index": i, "header": header, "field": mapping[i], "sample": [row[i] for row in sheet.rows[:3]]}
                 for i, header in enumerate(sheet.headers)],
        preview=sheet.rows[:10],
        checked=checked,
        errors=checked.errors,
    )  # fmt: skip
    return render(request, "sessions_app/library_import.html", context, status=422 if checked.errors and action == "confirm" else 200)
