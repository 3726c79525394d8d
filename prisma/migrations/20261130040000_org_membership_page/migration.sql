-- One page of the streamed listing (GET .../memberships): the organization's memberships after
-- (created_at, id), in that order, read along the index (org_id, created_at, id), so the whole
-- listing is one pass whatever the organization's size. Sorting is off inside the function (a
-- SET on a function holds for its own query alone, and keeps it from being inlined): with
-- statistics that underestimate the organization (after a bulk load, before autovacuum; always on
-- the embedded database, which has no autovacuum) the planner would otherwise read and sort all
-- the organization's remaining rows for every page. The first page starts after
-- ('-infinity', the nil uuid).
CREATE FUNCTION "org_membership_page"(p_org_id uuid, p_after_created_at timestamptz, p_after_id uuid, p_limit int)
  RETURNS SETOF "org_memberships" LANGUAGE sql STABLE
  SET enable_sort = off
AS $$
  SELECT * FROM "org_memberships"
  WHERE "org_id" = p_org_id AND ("created_at", "id") > (p_after_created_at, p_after_id)
  ORDER BY "created_at", "id"
  LIMIT p_limit
$$;
