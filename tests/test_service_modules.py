"""`nameko run services.<name>.service` (xieshang up, docker-compose) finds exactly one service in
each module: a mixin with entrypoints imported at the module's top level would start as a second,
nameless service and stop the process."""

import pytest
from nameko.cli.run import import_service

from tools.catalog import PROCESSES


@pytest.mark.parametrize("process", PROCESSES)
def test_each_service_module_holds_one_service_of_its_name(process):
    found = import_service(f"services.{process}.service")
    assert [cls.name for cls in found] == [process]
