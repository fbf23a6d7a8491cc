"""Meeting set-up for the secretariat: import session notes."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .. import importer
from ..meetings import services as notes_services
from ..meetings import word
from ..access import require_secretariat


class NotesUploadForm(forms.Form):
    notes = forms.FileField(
        label=gettext_lazy("Session notes (Word .docx or UTF-8 text file)"),
        # format_lazy: `gettext_lazy(...) % {...}` here would be evaluated once, at import, in English.
        help_text=format_lazy(
            gettext_lazy("A Word document (.docx, at most {word_size} MB) or plain text in the conventions of "
                         "the session notes (at most {size} MB)."),
            size=settings.FACILITATION["NOTES_MAX_BYTES"] // (1024 * 1024), word_size=word.MAX_DOCX_BYTES // (1024 * 1024),
        ),
    )


@login_required
def import_notes(request):
    require_secretariat(request.user)
    form = NotesUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["notes"]
        is_word = upload.name.lower().endswith((".docx", ".docm", ".doc"))
        limit = word.MAX_DOCX_BYTES if is_word else settings.FACILITATION["NOTES_MAX_BYTES"]
        try:
            if upload.size > limit:
                raise importer.NotesError(
                    _("The file is %(size)s bytes; the limit is %(limit)s bytes.") % {"size": upload.size, "limit": limit}
                )
            meeting, notes = notes_services.import_notes_file(upload.read(), source_name=upload.name)
        except importer.NotesError as error:
            form.add_error("notes", error.localized(_))
        else:
            count = len(notes.sessions)
            messages.success(
                request,
                ngettext(
                    "Imported “%(title)s”: %(sessions)s session.", "Imported “%(title)s”: %(sessions)s sessions.", count
                )
                % {"title": meeting.title, "sessions": count},
            )
            return redirect("meeting", slug=meeting.slug)
    return render(request, "sessions_app/import_secretariat.html", {"form": form}, status=400 if form.errors else 200)
