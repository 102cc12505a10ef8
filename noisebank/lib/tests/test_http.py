from noisebank.lib.http import content_disposition


def test_ascii_names_are_quoted() -> None:
    assert (
        content_disposition("noisebank-recordings-20261128T120000Z.csv")
        == 'attachment; filename="noisebank-recordings-20261128T120000Z.csv"'
    )


def test_non_ascii_names_get_an_ascii_fallback_and_utf8_form() -> None:
    header = content_disposition('Zürich "Nord".csv')
    assert header == (
        "attachment; filename=\"Zurich _Nord_.csv\"; filename*=UTF-8''Z%C3%BCrich%20%22Nord%22.csv"
    )
    header.encode("latin-1")


def test_inline_is_possible() -> None:
    assert content_disposition("a.json", attachment=False) == 'inline; filename="a.json"'
