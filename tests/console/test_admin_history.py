"""The admin's read-only view of an audit entry shows its JSON columns as JSON."""

from django.contrib.auth.models import User

from tests.history_factories import write


def test_the_admin_shows_an_entrys_request_as_json(client, db):
    entry = write(request={"profiles": [{"firstName": "Zoë"}]})
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-1234567"))
    html = client.get(f"/admin/customers/auditentry/{entry.pk}/change/").content.decode()
    assert "&quot;firstName&quot;: &quot;Zoë&quot;" in html
    assert "&#x27;firstName&#x27;" not in html
