"""Which doubts of a template make a real run wait for an admin: only those about what the profile still
takes from the template (issue 25: an unverified removal call or seat rule never acts unreviewed)."""

from seatkeeper.licensing.reclamation import unverified_reason
from seatkeeper.profiles.catalog import build_profile

OWN_USERS = {
    "path": "/users",
    "pagination": {"type": "offset", "offset_param": "offset", "limit_param": "limit"},
    "fields": {"id": "id", "email": "email", "active": "active"},
}
SUBSCRIPTION = {"licenses_purchased": 10, "cost_per_license": 3}


def test_a_profile_as_its_template_has_it_waits_for_the_template_s_unverified_facts():
    # Given a profile made from the scim2 template as it is (its seat rule and data-loss fact unverified)
    profile = build_profile(
        {"name": "SCIM", "template": "scim2", "base_url": "https://scim.example.com/v2", "subscription": SUBSCRIPTION}
    )
    # When its real run is checked
    reason = unverified_reason(profile)
    # Then it waits, naming both facts
    assert reason is not None and "seat (" in reason and "loses_data (" in reason, reason


def test_a_profile_with_its_own_removal_and_user_list_speaks_for_itself():
    # Given a profile that names the scim2 template but lists users and removes them with requests of its own
    profile = build_profile(
        {
            "name": "Own",
            "template": "scim2",
            "base_url": "https://app.example.com/api",
            "subscription": SUBSCRIPTION,
            "users": OWN_USERS,
            "reclaim": {"method": "POST", "path": "/users/{id}/deactivate"},
        }
    )
    # Then none of the template's doubts is about it
    assert unverified_reason(profile) is None


def test_only_the_doubt_about_what_the_profile_still_takes_from_the_template_counts():
    # Given a profile that keeps scim2's removal request but lists its users from an endpoint of its own
    profile = build_profile(
        {
            "name": "Half",
            "template": "scim2",
            "base_url": "https://app.example.com/api",
            "subscription": SUBSCRIPTION,
            "users": OWN_USERS,
        }
    )
    # Then the data-loss doubt (about scim2's PATCH) stands, and the seat doubt (about scim2's list) does not
    reason = unverified_reason(profile)
    assert reason is not None and "loses_data (" in reason and "seat (" not in reason, reason


def test_a_template_s_removal_with_its_placeholders_filled_in_is_still_the_template_s():
    # Given a profile made from the atlassian template, its organization and directory ids filled in
    base = build_profile(
        {
            "name": "Atl",
            "template": "atlassian",
            "base_url": "https://api.atlassian.com/admin",
            "subscription": SUBSCRIPTION,
        }
    )
    path = base.reclaim.path.replace("<org-id>", "org-1").replace("<directory-id>", "dir-9")
    profile = build_profile(
        {
            "name": "Atl",
            "template": "atlassian",
            "base_url": "https://api.atlassian.com/admin",
            "subscription": SUBSCRIPTION,
            "reclaim": {"path": path},
        }
    )
    # Then the template's doubt about what that removal does to the user's data still holds
    reason = unverified_reason(profile)
    assert reason is not None and "loses_data (" in reason, reason
