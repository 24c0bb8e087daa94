"""Record care, Users and Import on the demo clinic, for every role."""
from __future__ import annotations

import pytest

from tests.apptest_support import demo_clinic_template, demo_clinic_url, page_test  # noqa: F401

ALLOWED = {
    "pages/record_care.py": {"therapist", "medical_director"},
    "pages/users.py": {"admin"},
    "pages/import_data.py": {"admin", "medical_director"},
}
ROLES = ("therapist", "medical_director", "admin", "team_screen")


@pytest.mark.parametrize("page", sorted(ALLOWED))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_or_is_refused(demo_clinic_url, page, role):
    at = page_test(page, role, demo_clinic_url).run()
    assert not at.exception
    refused = any("not available" in e.value for e in at.error)
    assert refused == (role not in ALLOWED[page])


def test_therapist_record_care_on_the_demo_clinic(demo_clinic_url):
    at = page_test("pages/record_care.py", "therapist", demo_clinic_url).run()
    options = at.selectbox(key="rc_patient").options
    assert len(options) > 1
    # Every patient of the caseload opens without error.
    for i in range(min(len(options), 8)):
        at.selectbox(key="rc_patient").select_index(i).run()
        assert not at.exception and not at.error
