"""SQLAlchemy 2 declarative mapping over the shared schema (shared/migrations owns the DDL;
nothing here ever creates or alters a table)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, FetchedValue, ForeignKey, Identity, Table, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, query_expression, relationship


class Base(DeclarativeBase):
    # The database generates ids and timestamps; fetch them in the INSERT's RETURNING clause.
    __mapper_args__ = {"eager_defaults": True}


def _server_uuid() -> Any:
    return mapped_column(primary_key=True, server_default=func.gen_random_uuid())


def _server_now() -> Any:
    return mapped_column(server_default=func.now())


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = _server_uuid()
    email: Mapped[str]
    display_name: Mapped[str]
    password_hash: Mapped[str]
    is_admin: Mapped[bool] = mapped_column(server_default="false")
    created_at: Mapped[datetime] = _server_now()


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = _server_uuid()
    name: Mapped[str]
    description: Mapped[str]
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = _server_now()
    updated_at: Mapped[datetime] = _server_now()
    version: Mapped[int] = mapped_column(server_default="1")

    # Per-caller and aggregate values, filled in by the query that loads the project.
    my_role: Mapped[str] = query_expression()
    todo_count: Mapped[int] = query_expression()
    in_progress_count: Mapped[int] = query_expression()
    done_count: Mapped[int] = query_expression()

    @property
    def task_counts(self) -> dict[str, int]:
        return {"todo": self.todo_count, "in_progress": self.in_progress_count,
                "done": self.done_count}


class ProjectMember(Base):
    __tablename__ = "project_members"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str]
    added_at: Mapped[datetime] = _server_now()

    user: Mapped[User] = relationship(lazy="raise")


class Label(Base):
    __tablename__ = "labels"

    id: Mapped[uuid.UUID] = _server_uuid()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str]
    color: Mapped[str]
    created_at: Mapped[datetime] = _server_now()


task_labels = Table(
    "task_labels",
    Base.metadata,
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True),
)


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[uuid.UUID] = _server_uuid()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str]
    description: Mapped[str]
    status: Mapped[str]
    priority: Mapped[str]
    # A generated column (the one definition of the priority order lives in the migration);
    # FetchedValue tells the ORM never to write it.
    priority_rank: Mapped[int] = mapped_column(
        server_default=FetchedValue(), server_onupdate=FetchedValue())
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    due_date: Mapped[date | None]
    created_by_id: Mapped[uuid.UUID] = mapped_column("created_by", ForeignKey("users.id"))
    created_at: Mapped[datetime] = _server_now()
    updated_at: Mapped[datetime] = _server_now()
    version: Mapped[int] = mapped_column(server_default="1")

    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="raise")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="raise")
    labels: Mapped[list[Label]] = relationship(
        secondary=task_labels, order_by=(Label.name, Label.id), lazy="raise")

    comment_count: Mapped[int] = query_expression()


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[uuid.UUID] = _server_uuid()
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str]
    created_at: Mapped[datetime] = _server_now()
    updated_at: Mapped[datetime] = _server_now()

    author: Mapped[User] = relationship(lazy="raise")


class Activity(Base):
    __tablename__ = "activity"

    id: Mapped[uuid.UUID] = _server_uuid()
    seq: Mapped[int] = mapped_column(Identity(always=True))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    verb: Mapped[str]
    target_type: Mapped[str]
    target_id: Mapped[uuid.UUID]
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _server_now()

    actor: Mapped[User] = relationship(lazy="raise")
