"""An earlier demo meeting with published practices, so `make run` shows the library working across meetings.

Written with the ORM directly: this is seed data, loaded once by `load_demo`, not a delegate's action."""

import datetime

from ..models import LibraryAccess, LibraryTheme, Meeting, Practice, Session, Visibility
from . import vocabulary

SLUG = "network-meeting-2022-demo"

SESSIONS = [
    (1, "Countering mis- and disinformation", ["mis-disinformation", "information-integrity"]),
    (2, "Trust, polarisation and democratic resilience", ["trust", "polarisation", "democratic-resilience"]),
    (3, "Citizen participation and strategic foresight", ["citizen-participation", "strategic-foresight"]),
]

# (session, country, language, title, description, level, year, status, themes)
PRACTICES = [
    (1, "FI", "en", "Media literacy from primary school", "A national curriculum teaches pupils to check sources and spot manipulated content.", "national", 2016, "evaluated", ["media-literacy", "mis-disinformation"]),
    (1, "FR", "fr", "Cellule de veille contre la désinformation", "Une équipe du centre de gouvernement détecte les campagnes de désinformation étrangères et alerte les ministères.", "national", 2021, "running", ["mis-disinformation", "information-integrity"]),
    (1, "LT", "en", "Prebunking campaign before elections", "Short videos explain common manipulation techniques before the vote.", "national", 2023, "pilot", ["mis-disinformation", "public-communication"]),
    (1, "CA", "en", "Digital citizen contribution programme", "Grants to research and civil society projects that build resilience to online disinformation.", "national", 2020, "evaluated", ["mis-disinformation", "digital-platforms"]),
    (1, "BE", "fr", "Plateforme de signalement des fausses informations", "Les citoyens signalent un contenu douteux ; des vérificateurs répondent sous 48 heures.", "regional", 2022, "running", ["mis-disinformation"]),
    (2, "NO", "en", "Trust survey with the statistics office", "A yearly survey of trust in institutions, published with the government's response.", "national", 2019, "running", ["trust"]),
    (2, "KR", "en", "Deliberative polling on divisive issues", "Randomly selected citizens deliberate on a divisive reform before a recommendation.", "national", 2017, "evaluated", ["polarisation", "citizen-participation"]),
    (2, "DE", "en", "Local dialogue forums in divided communities", "Municipalities host moderated dialogues between residents who disagree.", "local", 2021, "pilot", ["polarisation", "democratic-resilience"]),
    (2, "CH", "fr", "Baromètre de la confiance des cantons", "Les cantons mesurent la confiance dans les services publics et publient les résultats.", "regional", 2020, "running", ["trust"]),
    (3, "IE", "en", "Citizens' Assembly", "Randomly selected citizens deliberated on constitutional questions; several led to referendums.", "national", 2016, "evaluated", ["citizen-participation"]),
    (3, "FI", "en", "Government foresight report", "Each government term starts with a foresight report discussed in parliament.", "national", 1993, "running", ["strategic-foresight"]),
    (3, "ES", "fr", "Budget participatif municipal", "Les habitants proposent et votent des projets financés par la ville.", "local", 2015, "evaluated", ["citizen-participation"]),
]


def load_demo_library(delegations) -> Meeting:
    """Create the earlier demo meeting with its published practices, once; returns it."""
    vocabulary.seed_themes(LibraryTheme)
    meeting = Meeting.objects.filter(slug=SLUG).first()
    if meeting is not None:
        return meeting
    meeting = Meeting.objects.create(
        title="Network meeting 2022 (demo)", slug=SLUG, place="Paris", dates_text="November 2022",
        start_date=datetime.date(2022, 11, 17), end_date=datetime.date(2022, 11, 18), library=LibraryAccess.MEMBERS,
    )
    by_code = {d.code: d for d in delegations}
    meeting.delegations.add(*by_code.values())
    themes = {t.slug: t for t in LibraryTheme.objects.all()}
    sessions = {
        number: Session.objects.create(meeting=meeting, number=number, title=title) for number, title, _slugs in SESSIONS
    }
    for number, code, language, title, description, level, year, status, slugs in PRACTICES:
        practice = Practice.objects.create(
            session=sessions[number], delegation=by_code[code], title=title, description=description,
            language=language, level=level, year_started=year, status=status, visibility=Visibility.PUBLISHED,
        )
        practice.library_themes.set([themes[s] for s in slugs])
    return meeting
