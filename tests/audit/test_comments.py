"""Blanking comments keeps strings, lines and columns."""

from __future__ import annotations

import pytest

from migrate1to2.audit.comments import CommentStyle, blank_comments


@pytest.mark.parametrize(("text", "style", "expected"), [
    pytest.param('a = "https://x" // b\n', CommentStyle.C, 'a = "https://x"     \n', id="c-line-comment-url-kept"),
    pytest.param("a /* b\nc */ d\n", CommentStyle.C, "a     \n     d\n", id="c-block-keeps-lines"),
    pytest.param("a = `x // y` // z\n", CommentStyle.C, "a = `x // y`     \n", id="backtick-string"),
    pytest.param("x = '#' # c\n", CommentStyle.HASH, "x = '#'    \n", id="hash"),
    pytest.param('s = """a # b\n# c"""  # d\n', CommentStyle.HASH, 's = """a # b\n# c"""     \n',
                 id="triple-quoted-string"),
    pytest.param("echo ${#a} # c\n", CommentStyle.SHELL, "echo ${#a}    \n", id="shell-hash-needs-a-blank"),
    pytest.param("#[Attr]\n# c\n// d\n", CommentStyle.PHP, "#[Attr]\n   \n    \n", id="php-attribute-kept"),
    pytest.param("it's // c\n", CommentStyle.C, "it's // c\n", id="unclosed-quote-ends-at-the-line"),
    pytest.param("<!-- x --> // y\n", CommentStyle.NONE, "<!-- x --> // y\n", id="markup-untouched"),
])
def test_blank_comments(text: str, style: CommentStyle, expected: str) -> None:
    blanked = blank_comments(text, style)
    assert blanked == expected
    assert len(blanked) == len(text)
