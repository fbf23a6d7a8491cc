"""The library's starting vocabulary, from the demo meeting's sessions; the secretariat keeps it in the admin."""

THEMES = [
    ("mis-disinformation", "Mis- and disinformation", "Mésinformation et désinformation"),
    ("polarisation", "Polarisation", "Polarisation"),
    ("trust", "Trust in public institutions", "Confiance dans les institutions publiques"),
    ("citizen-participation", "Citizen participation", "Participation citoyenne"),
    ("strategic-foresight", "Strategic foresight", "Prospective stratégique"),
    ("information-integrity", "Information integrity", "Intégrité de l’information"),
    ("media-literacy", "Media and information literacy", "Éducation aux médias et à l’information"),
    ("public-communication", "Public communication", "Communication publique"),
    ("digital-platforms", "Digital platforms", "Plateformes numériques"),
    ("democratic-resilience", "Democratic resilience", "Résilience démocratique"),
]


def seed_themes(theme_model) -> int:
    """Create the starting themes that are missing; returns how many were created."""
    created = 0
    for slug, name_en, name_fr in THEMES:
        _, made = theme_model.objects.get_or_create(slug=slug, defaults={"name_en": name_en, "name_fr": name_fr})
        created += made
    return created
