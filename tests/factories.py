"""factory_boy factories for the domain. Build what a test needs, nothing more."""

import factory
from django.contrib.auth.models import User

from sessions_app import models

PASSWORD = "test-password-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook
        if create:
            obj.save()


class DelegationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Delegation
        django_get_or_create = ("country",)

    country = factory.Iterator(["FR", "DE", "JP", "CA", "CL", "NO", "KR", "MX", "IT", "ES"])


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Meeting

    title = factory.Sequence(lambda n: f"Annual Meeting {n}")
    slug = factory.Sequence(lambda n: f"annual-meeting-{n}")
    place = "Paris"
    join_code = factory.Sequence(lambda n: f"CODE{n:02d}")


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Session

    meeting = factory.SubFactory(MeetingFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Session title {n}")


class BlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Block

    session = factory.SubFactory(SessionFactory)
    position = factory.Sequence(lambda n: n + 1)
    kind = "paragraph"
    number = factory.Sequence(lambda n: n + 1)
    text = "Paragraph text."
    html = factory.LazyAttribute(lambda o: f'<p class="para" id="para-{o.number}">{o.text}</p>')


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Question

    session = factory.SubFactory(SessionFactory)
    position = factory.Sequence(lambda n: n + 1)
    text = factory.Sequence(lambda n: f"Discussion question {n}?")
    html = factory.LazyAttribute(lambda o: o.text)
    status = models.Question.Status.OPEN


def make_participant(*, role: str, delegation=None, username: str | None = None, meetings=(), **user_fields) -> User:
    """A user with a Participant row in the given role (and delegation for delegates), taking part in `meetings`."""
    user = UserFactory(**({"username": username} if username else {}), **user_fields)
    models.Participant.objects.create(user=user, role=role, delegation=delegation).meetings.set(meetings)
    return user


def make_delegate(delegation, **kwargs) -> User:
    return make_participant(role=models.Participant.Role.DELEGATE, delegation=delegation, **kwargs)


def make_chair(**kwargs) -> User:
    return make_participant(role=models.Participant.Role.CHAIR, **kwargs)


def make_secretariat(**kwargs) -> User:
    return make_participant(role=models.Participant.Role.SECRETARIAT, **kwargs)


class AnswerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Answer

    question = factory.SubFactory(QuestionFactory)
    delegation = factory.SubFactory(DelegationFactory)
    text = factory.Sequence(lambda n: f"Our answer number {n}.")


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Practice

    session = factory.SubFactory(SessionFactory)
    delegation = factory.SubFactory(DelegationFactory)
    title = factory.Sequence(lambda n: f"Practice {n}")
    description = "How we do it."


def published_practice(**kwargs) -> models.Practice:
    """A practice moderation has published (so in the library where its meeting allows), with its
    vocabulary themes (`library_themes=[...]`)."""
    themes = kwargs.pop("library_themes", [])
    practice = PracticeFactory(visibility=models.Visibility.PUBLISHED, **kwargs)
    if themes:
        practice.library_themes.set(themes)
    return practice


def library_theme(slug: str) -> models.LibraryTheme:
    return models.LibraryTheme.objects.get(slug=slug)
