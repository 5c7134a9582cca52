"""The notebooks run at test size under pytest (a few hundred users, at most two seeds),
so `pytest --nbmake notebooks` is quick; `make course-classroom` runs them at classroom
size. The kernels nbmake starts inherit this environment."""

import os

os.environ.setdefault("FLYWHEEL_LESSON_SIZE", "test")
