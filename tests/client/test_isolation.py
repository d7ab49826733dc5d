import subprocess
import sys

CHECK = (
    "import sys, customers.capillary.client, customers.capillary.ratelimit;"
    "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'));"
    "print(loaded)"
)


def test_the_client_imports_no_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=30
    )

    assert result.stdout.strip() == "[]"
