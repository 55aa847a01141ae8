# The userpipe project image: the CLI with dlt, dbt-postgres and Great Expectations, plus the repo's dbt
# project and checks. docker compose runs it as the local randomuser API (`userpipe api serve`); Kestra's
# flow tasks run `userpipe ...` commands in it (tag userpipe:latest). Connection settings come from the
# environment (USERPIPE_DATABASE_URL ...): the image holds no secrets and starts no database of its own.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    USERPIPE_HOME=/tmp/userpipe

RUN useradd --create-home --uid 10001 userpipe
WORKDIR /app

# Dependencies first (from pyproject.toml), so code edits do not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself, editable so dbt_project/, profiles.yml and quality/ stay where the code expects them.
COPY . .
RUN pip install --no-deps -e . \
    && chown -R userpipe:userpipe /app

# No USER here on purpose: Kestra's Docker task runner mounts a root-owned working directory and runs
# `Commands` tasks as the image user, so a non-root default user could not write there (dbt's target/,
# copied project). The long-running API service runs as `userpipe` (uid 10001) via compose `user:` instead.
EXPOSE 8000
CMD ["userpipe", "--help"]
