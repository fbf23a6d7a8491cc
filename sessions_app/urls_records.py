"""Records pages and downloads; included at the end of sessions_app/urls.py."""

from django.urls import path

from .views import records

urlpatterns = [
    path("meetings/<slug:slug>/records/", records.records, name="records"),
    path("meetings/<slug:slug>/records/summary/", records.records_summary, name="records_summary"),
    path("meetings/<slug:slug>/records/compendium/", records.records_compendium, name="records_compendium"),
    path("meetings/<slug:slug>/records/download/<str:fmt>/", records.records_download, name="records_download"),
]

from .views import review  # noqa: E402  (the record's review, beside the records)

urlpatterns += [
    path("meetings/<slug:slug>/record-review/", review.review_list, name="record_reviews"),
    path("meetings/<slug:slug>/record-review/<int:pk>/", review.review_detail, name="record_review"),
    path("meetings/<slug:slug>/record-review/<int:pk>/docx/", review.review_docx, name="record_review_docx"),
]
