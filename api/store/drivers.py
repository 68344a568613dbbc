"""A stored call joins a discovered driver, or helps discover a new one
(`pipelines.analytics.drivers`). Runs in the transaction that stores the call's record, after
the tenant's ledger head is locked, so two workers never create one driver twice."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.store.schema import Call, Driver
from pipelines.analytics.drivers import (
    DriverOptions,
    joined_centroid,
    key_terms,
    label_of,
    place,
    unit_vector,
)

logger = logging.getLogger(__name__)

POOL_DAYS = 90  # reasons that fit no driver wait this long for others like them
POOL_LIMIT = 2000


def _rounded(vector: np.ndarray) -> list[float]:
    return [round(float(x), 5) for x in vector]


def assign_driver(
    session: Session, tenant: str, call: Call, now: datetime, options: DriverOptions
) -> str | None:
    """Set ``call.driver_id`` (its reason vector already set): the nearest driver close enough,
    else a new driver when the pool of unplaced reasons now holds a group; None otherwise."""
    if call.reason_vector is None:
        return None
    vector = unit_vector(call.reason_vector)
    drivers = list(session.scalars(select(Driver).where(Driver.tenant == tenant)))
    pool = session.execute(
        select(Call.id, Call.reason, Call.reason_vector)
        .where(
            Call.tenant == tenant,
            Call.driver_id.is_(None),
            Call.reason_vector.is_not(None),
            Call.status != "erased",
            Call.created_at >= now - timedelta(days=POOL_DAYS),
            Call.id != call.id,
        )
        .order_by(Call.created_at.desc())
        .limit(POOL_LIMIT)
    ).all()
    vectors = np.array(
        [vector, *(unit_vector(row.reason_vector) for row in pool)], dtype=np.float64
    )
    centroids = np.array([d.centroid for d in drivers], dtype=np.float64)
    placement = place(vector, centroids, vectors[1:], options)
    if placement.joined is not None:
        driver = drivers[placement.joined]
        driver.centroid = _rounded(joined_centroid(driver.centroid, driver.size, vector))
        driver.size += 1
        call.driver_id = driver.id
        return driver.id
    if not placement.founded:
        return None
    group = list(placement.founded)
    ids = [call.id, *(row.id for row in pool)]
    texts = [call.reason or "", *(row.reason or "" for row in pool)]
    others = [texts[i] for i in range(len(ids)) if i not in set(group)]
    terms = key_terms({"new": [texts[i] for i in group], "rest": others}, options.max_terms)
    count = session.scalar(select(func.count()).where(Driver.tenant == tenant)) or 0
    driver = Driver(
        tenant=tenant,
        id=f"d{count + 1}",
        label=label_of(terms.get("new", []), options.label_terms),
        centroid=_rounded(unit_vector(vectors[group].mean(axis=0))),
        size=len(group),
        created_at=now,
    )
    session.add(driver)
    call.driver_id = driver.id
    members = [ids[i] for i in group if i != 0]
    session.execute(
        update(Call)
        .where(Call.tenant == tenant, Call.id.in_(members))
        .values(driver_id=driver.id)
        .execution_options(synchronize_session=False)
    )
    logger.info("new call driver %s (%s) from %d calls", driver.id, driver.label, len(group))
    return driver.id
