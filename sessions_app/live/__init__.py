"""The live loop: it reads the domain and sends what the domain recorded; the domain never imports it."""

# Until its callers name the modules of this package, they find live.py's names here.
from .renderers import *  # noqa: F401,F403
from .renderers import _render  # noqa: F401
