"""The images of a meeting's figures, imported from its Word notes, served to whoever reads its briefing."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from .. import queries
from ..models import FigureImage


@login_required
def figure_image(request, slug, position):
    meeting = queries.get_meeting(slug)
    image = get_object_or_404(FigureImage, meeting=meeting, position=position)
    response = HttpResponse(bytes(image.data), content_type=image.content_type)
    # Only PNG/JPEG/GIF are stored (checked by their bytes at import); nosniff is set site-wide.
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=3600"
    return response
