"""ADO.NET connection strings (`key=value;...`, values possibly in {braces} with }} escapes) as the
tests read and write them: FASTMSSQL_TEST_URL and the local server's strings."""

from __future__ import annotations

# An ADO.NET connection string of a real SQL Server to run the whole suite against instead of the local server.
TEST_URL_ENV = "FASTMSSQL_TEST_URL"


def parse_connection_string(text: str) -> dict[str, str]:
    """Split an ADO.NET connection string into {lower-case key: value}, honouring {braced;values}}."""
    pairs: dict[str, str] = {}
    i = 0
    while i < len(text):
        eq = text.find("=", i)
        if eq < 0:
            if text[i:].strip(" ;"):
                raise ValueError(f"no '=' in connection string part {text[i:]!r}")
            break
        key = text[i:eq].strip(" ;").lower()
        j = eq + 1
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            value_chars = []
            j += 1
            while True:
                if j >= len(text):
                    raise ValueError("unterminated '{' in connection string")
                if text[j] == "}":
                    if text[j + 1 : j + 2] == "}":
                        value_chars.append("}")
                        j += 2
                        continue
                    j += 1
                    break
                value_chars.append(text[j])
                j += 1
            value = "".join(value_chars)
            end = text.find(";", j)
            i = len(text) if end < 0 else end + 1
        else:
            end = text.find(";", j)
            value = (text[j:] if end < 0 else text[j:end]).strip()
            i = len(text) if end < 0 else end + 1
        pairs[key] = value
    return pairs


def build_connection_string(pairs: dict[str, str]) -> str:
    """The inverse of `parse_connection_string`, bracing values that need it."""
    parts = []
    for key, value in pairs.items():
        if any(ch in value for ch in ";{}=") or value != value.strip():
            value = "{" + value.replace("}", "}}") + "}"
        parts.append(f"{key}={value}")
    return ";".join(parts)
