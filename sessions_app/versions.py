"""Where the project leans on an undocumented part of a library, it does so only on the versions it
was tested with: a (major, minor) range per short cut, pinned in pyproject.toml and checked in
tests/test_stack_versions.py, so that an upgrade past it falls back to the public way first."""


def in_tested_range(version: str, tested: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    """Whether `version` ("4.3.2", "0.55") falls in the first and last (major, minor) of `tested`."""
    try:
        release = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    first, last = tested
    return len(release) == 2 and first <= release <= last
