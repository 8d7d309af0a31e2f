"""The upload page (`GET /`) and the results table (`POST /predict` asked for `text/html`).

Plain HTML forms with inline CSS: no script, no framework, nothing fetched from the network.
Every value shown is escaped. The results page shows the summary counts, a link to the whole
CSV, and the first `SHOWN_ROWS` rows with intrusions coloured, their probability and, for an
intrusion, the inputs that raised its score most (`top_features`).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from netsec_cli import __version__

if TYPE_CHECKING:
    from netsec_cli.serve.predictions import Predictions

SHOWN_ROWS = 1000

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d2430}
h1{font-size:1.4rem} form{border:1px solid #ccd3dd;border-radius:6px;padding:1rem;display:grid;gap:.6rem;max-width:34rem}
label{font-weight:600} input[type=submit]{justify-self:start;padding:.4rem 1.2rem}
table{border-collapse:collapse;margin-top:1rem;width:100%} th,td{border-bottom:1px solid #e3e7ee;padding:.25rem .5rem;text-align:left}
th{background:#f3f5f8;position:sticky;top:0} tr.intrusion td{background:#fde2e1;color:#8a1c17} tr.normal td{background:#eef8ee}
.summary{display:flex;gap:1.5rem;margin:1rem 0} .summary div{padding:.5rem .9rem;border-radius:6px;background:#f3f5f8}
.count{font-size:1.3rem;font-weight:700;display:block} .note{color:#5b6472}
"""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        '<link rel=icon href="data:,">'  # no favicon request
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}<p class=note>netsec {escape(__version__)}</p></body></html>"
    )


def upload_page(*, needs_token: bool, ready: bool) -> str:
    """The form that posts a flows file to /predict and asks for the HTML table."""
    token = (
        '<label for=token>Token</label><input id=token name=token type=password autocomplete=current-password required>'
        if needs_token
        else ""
    )
    state = "" if ready else "<p class=note>No model is trained yet: run <code>netsec train</code> (or POST /train) first.</p>"
    form = (
        '<form method=post action=/predict enctype=multipart/form-data>'
        f"{token}"
        '<label for=file>Flows file (.npy, .csv, .tsv, .txt, .parquet)</label>'
        '<input id=file name=file type=file required accept=".npy,.csv,.tsv,.txt,.parquet,.pq">'
        '<input type=submit value="Score flows"></form>'
    )
    return _page("netsec: score flows", f"<h1>netsec: score network flows</h1>{state}{form}")


def results_page(predictions: Predictions, filename: str, csv_link: str | None) -> str:
    """The summary counts, the CSV link and the coloured table of the first rows."""
    rows, intrusions = predictions.rows, predictions.intrusions
    share = f" ({intrusions / rows:.1%})" if rows else ""
    summary = (
        '<div class=summary>'
        f'<div><span class=count id=rows>{rows:,}</span>rows</div>'
        f'<div><span class=count id=intrusions>{intrusions:,}</span>intrusions{escape(share)}</div>'
        f'<div><span class=count id=normal>{rows - intrusions:,}</span>normal</div>'
        f'<div><span class=count>{predictions.served.threshold:.4g}</span>threshold</div></div>'
    )
    link = f'<p><a id=csv href="{escape(csv_link)}" download>Download all predictions (CSV)</a></p>' if csv_link else ""
    shown = min(rows, SHOWN_ROWS)
    more = f"<p class=note>The first {shown:,} of {rows:,} rows are shown; the CSV holds them all.</p>" if rows > shown else ""
    notes = predictions.top_features
    head = "<tr><th>row</th><th>label</th><th>probability</th>" + ("<th>top features</th>" if notes is not None else "") + "</tr>"
    flagged = predictions.flagged()
    body = []
    for i in range(shown):
        kind = "intrusion" if flagged[i] else "normal"
        cells = f"<td>{i}</td><td>{kind}</td><td>{predictions.probability[i]:.4f}</td>"
        if notes is not None:
            cells += f"<td>{escape(notes[i])}</td>"
        body.append(f"<tr class={kind}>{cells}</tr>")
    table = f"<table id=predictions><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
    title = f"netsec: {filename}"
    heading = f"<h1>{escape(filename)}: model {escape(predictions.served.version)}</h1>"
    return _page(title, f'{heading}{summary}{link}{more}{table}<p><a href="/">Score another file</a></p>')


def error_page(status: int, detail: str) -> str:
    """A failed upload, in the page's style (the same one line as the JSON `detail`)."""
    return _page("netsec: error", f'<h1>Error {status}</h1><p id=error>{escape(detail)}</p><p><a href="/">Back</a></p>')
