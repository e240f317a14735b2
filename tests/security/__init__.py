import pytest

# The shared checks live outside test modules: let pytest explain their failed asserts too.
pytest.register_assert_rewrite("tests.security.checks")
