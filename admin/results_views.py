"""考评结果 (issue 12, pages 9–10): a prosecutor's score card for a period, the rankings and the
procuratorate comparison — the same services as ``/api/v1/evaluations``, ``/rankings`` and ``/comparisons``,
with the signed-in person's tree.
"""

from __future__ import annotations

from typing import Any

from flask import redirect
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose

from admin.auth import is_signed_in, login_url_for_current_request


class ResultsView(BaseView):
    """考评结果: score cards, rankings, comparison."""

    def is_accessible(self) -> bool:
        """Signed-in users; what each sees is the services' business (their tree)."""
        return is_signed_in()

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> ResponseReturnValue:
        """Anonymous users go to the login page (and come back)."""
        return redirect(login_url_for_current_request())

    @expose("/")
    def index(self) -> ResponseReturnValue:
        """Until the pages land: the rankings are the way in."""
        return self.render("admin/designer/not_found.html"), 404
