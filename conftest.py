"""Repository-wide pytest hooks."""


def pytest_sessionfinish(session, exitstatus):
    # pytest exits 5 when it collected no test; for this project that is a failure, never a silent pass.
    if exitstatus == 5:
        session.exitstatus = 1
