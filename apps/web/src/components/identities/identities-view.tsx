"use client";

import type { CreatedClientSecret, IdentityDto, OrgRole } from "@roster/contract";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { formatTime, ROLE_LABELS } from "@/components/members/badges";
import { useOrg } from "@/components/org-context";
import { errorInfo, useTRPC } from "@/lib/trpc";
import { CopyButton } from "./copy-button";

const ROLES = (["admin", "member", "no-access"] as const).map((value) => ({ value, label: ROLE_LABELS[value] }));

function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const info = errorInfo(error);
  return (
    <p className="text-sm text-red-700" role="alert">
      {info.message}
      {info.reqId ? <span className="ml-2 font-mono text-xs text-red-600">({info.reqId})</span> : null}
    </p>
  );
}

export function IdentitiesView() {
  const { org, can } = useOrg();
  const trpc = useTRPC();
  const list = useQuery(trpc.identities.list.queryOptions({ organizationId: org.id }));
  const [creating, setCreating] = useState(false);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Machine identities</h1>
          <p className="text-sm text-zinc-500">
            Scripts and deprovisioning jobs log in with a client id and secret (Universal Auth), not a person's token.
          </p>
        </div>
        {can("create", "identity") && !creating ? (
          <button type="button" className="btn-primary" onClick={() => setCreating(true)}>
            New identity
          </button>
        ) : null}
      </div>
      {creating ? <CreateIdentityForm onDone={() => setCreating(false)} /> : null}
      {list.isPending ? (
        <div className="card h-32 animate-pulse bg-zinc-100" aria-hidden />
      ) : list.isError ? (
        <div className="card p-4">
          <ErrorNote error={list.error} />
        </div>
      ) : list.data.identities.length === 0 ? (
        <div className="card p-8 text-center text-sm text-zinc-500">No machine identities yet.</div>
      ) : (
        <ul className="space-y-4">
          {list.data.identities.map((identity) => (
            <IdentityCard key={identity.id} identity={identity} />
          ))}
        </ul>
      )}
    </div>
  );
}

function CreateIdentityForm({ onDone }: { onDone: () => void }) {
  const { org } = useOrg();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.identities.create.mutationOptions({
      onSuccess: async () => {
        await queryClient.invalidateQueries({ queryKey: trpc.identities.list.queryKey() });
        onDone();
      },
    }),
  );

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const ips = (name: string) =>
      String(f.get(name) ?? "")
        .split(/[\s,]+/)
        .filter(Boolean);
    create.mutate({
      organizationId: org.id,
      name: String(f.get("name") ?? ""),
      role: String(f.get("role")) as OrgRole,
      universalAuth: {
        accessTokenTTL: Number(f.get("ttl")),
        accessTokenMaxTTL: Number(f.get("maxTtl")),
        accessTokenNumUsesLimit: Number(f.get("uses")),
        clientSecretTrustedIps: ips("secretIps"),
        accessTokenTrustedIps: ips("tokenIps"),
      },
    });
  }

  return (
    <form className="card grid gap-3 p-4 sm:grid-cols-2" onSubmit={submit} aria-label="New identity">
      <div>
        <label htmlFor="identity-name" className="mb-1 block text-xs font-medium text-zinc-600">
          Name
        </label>
        <input id="identity-name" name="name" className="input" required maxLength={64} placeholder="deprovisioner" />
      </div>
      <div>
        <label htmlFor="identity-role" className="mb-1 block text-xs font-medium text-zinc-600">
          Role
        </label>
        <select id="identity-role" name="role" className="input" defaultValue="member">
          {ROLES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="identity-ttl" className="mb-1 block text-xs font-medium text-zinc-600">
          Access token TTL (seconds)
        </label>
        <input id="identity-ttl" name="ttl" type="number" min={60} className="input" defaultValue={3600} />
      </div>
      <div>
        <label htmlFor="identity-max-ttl" className="mb-1 block text-xs font-medium text-zinc-600">
          Max TTL, renewals included (seconds, 0 for none)
        </label>
        <input id="identity-max-ttl" name="maxTtl" type="number" min={0} className="input" defaultValue={86400} />
      </div>
      <div>
        <label htmlFor="identity-uses" className="mb-1 block text-xs font-medium text-zinc-600">
          Requests per token (0 for no limit)
        </label>
        <input id="identity-uses" name="uses" type="number" min={0} className="input" defaultValue={0} />
      </div>
      <div>
        <label htmlFor="identity-secret-ips" className="mb-1 block text-xs font-medium text-zinc-600">
          Login allowed from (CIDR, blank for anywhere)
        </label>
        <input id="identity-secret-ips" name="secretIps" className="input" placeholder="10.0.0.0/8, 192.168.1.4" />
      </div>
      <div className="sm:col-span-2">
        <label htmlFor="identity-token-ips" className="mb-1 block text-xs font-medium text-zinc-600">
          Tokens usable from (CIDR, blank for anywhere)
        </label>
        <input id="identity-token-ips" name="tokenIps" className="input" placeholder="10.0.0.0/8" />
      </div>
      <div className="flex items-center justify-end gap-2 sm:col-span-2">
        <ErrorNote error={create.error} />
        <button type="button" className="btn-secondary" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="btn-primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create identity"}
        </button>
      </div>
    </form>
  );
}

function IdentityCard({ identity }: { identity: IdentityDto }) {
  const { org, can } = useOrg();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.identities.list.queryKey() });
  const [created, setCreated] = useState<CreatedClientSecret | null>(null);
  const [confirmDelete, setConfirmDelete] = useState("");
  const ref = { organizationId: org.id, identityId: identity.id };

  const createSecret = useMutation(
    trpc.identities.createClientSecret.mutationOptions({
      onSuccess: async (data) => {
        setCreated(data);
        await refresh();
      },
    }),
  );
  const revokeSecret = useMutation(trpc.identities.revokeClientSecret.mutationOptions({ onSuccess: refresh }));
  const revokeToken = useMutation(trpc.identities.revokeAccessToken.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.identities.delete.mutationOptions({ onSuccess: refresh }));
  const canEdit = can("edit", "identity");
  const ua = identity.universalAuth;

  return (
    <li className="card divide-y divide-zinc-100" data-testid="identity-card" data-name={identity.name}>
      <div className="flex flex-wrap items-start justify-between gap-3 p-4">
        <div className="min-w-0">
          <h2 className="font-semibold">{identity.name}</h2>
          <p className="text-sm text-zinc-600">
            Role <span className="font-medium">{identity.role}</span> · token TTL {ua.accessTokenTTL}s · max TTL{" "}
            {ua.accessTokenMaxTTL || "none"}
            {ua.accessTokenNumUsesLimit ? ` · ${ua.accessTokenNumUsesLimit} requests per token` : ""}
            {ua.clientSecretTrustedIps.length ? ` · login from ${ua.clientSecretTrustedIps.join(", ")}` : ""}
            {ua.accessTokenTrustedIps.length ? ` · tokens from ${ua.accessTokenTrustedIps.join(", ")}` : ""}
          </p>
          <p className="mt-1 flex items-center gap-2 text-sm">
            <span className="text-zinc-500">Client ID</span>
            <code className="rounded bg-zinc-100 px-1.5 py-0.5 text-xs" data-testid="client-id">
              {identity.clientId}
            </code>
            <CopyButton value={identity.clientId} />
          </p>
        </div>
        {canEdit ? (
          <button
            type="button"
            className="btn-secondary"
            disabled={createSecret.isPending}
            onClick={() => createSecret.mutate({ ...ref, description: "" })}
          >
            Create client secret
          </button>
        ) : null}
      </div>

      {created ? (
        <div className="bg-amber-50 p-4" role="status" data-testid="new-client-secret">
          <p className="text-sm font-medium text-amber-900">Copy the client secret now: it will not be shown again.</p>
          <div className="mt-2 flex flex-wrap items-center gap-2">
            <code
              className="break-all rounded bg-white px-2 py-1 text-xs ring-1 ring-amber-200"
              data-testid="client-secret-value"
            >
              {created.clientSecret}
            </code>
            <CopyButton value={created.clientSecret} />
            <button type="button" className="btn-ghost text-xs" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      ) : null}
      <div className="px-4 py-2">
        <ErrorNote error={createSecret.error ?? revokeSecret.error ?? revokeToken.error ?? remove.error} />
      </div>

      <section className="p-4" aria-label={`Client secrets of ${identity.name}`}>
        <h3 className="mb-2 text-sm font-medium">Client secrets</h3>
        {identity.clientSecrets.length === 0 ? (
          <p className="text-sm text-zinc-500">None yet.</p>
        ) : (
          <div className="overflow-x-auto">
            <table className="w-full text-sm">
              <thead className="text-left text-xs text-zinc-500">
                <tr>
                  <th className="py-1 pr-3 font-medium">Secret</th>
                  <th className="py-1 pr-3 font-medium">Created</th>
                  <th className="py-1 pr-3 font-medium">Logins</th>
                  <th className="py-1 pr-3 font-medium">Expires</th>
                  <th className="py-1 font-medium">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-zinc-100">
                {identity.clientSecrets.map((s) => (
                  <tr key={s.id} data-testid="client-secret-row">
                    <td className="py-1.5 pr-3 font-mono text-xs">{s.prefix}••••••••</td>
                    <td className="py-1.5 pr-3">{formatTime(s.createdAt)}</td>
                    <td className="py-1.5 pr-3">
                      {s.numUses}
                      {s.numUsesLimit ? ` / ${s.numUsesLimit}` : ""}
                    </td>
                    <td className="py-1.5 pr-3">{s.expiresAt ? formatTime(s.expiresAt) : "Never"}</td>
                    <td className="py-1.5 text-right">
                      {s.isRevoked ? (
                        <span className="badge bg-zinc-100 text-zinc-600 ring-zinc-500/20">Revoked</span>
                      ) : canEdit ? (
                        <button
                          type="button"
                          className="btn-ghost px-2 py-1 text-xs text-red-700"
                          onClick={() => revokeSecret.mutate({ ...ref, clientSecretId: s.id })}
                        >
                          Revoke
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="p-4" aria-label={`Access tokens of ${identity.name}`}>
        <h3 className="mb-2 text-sm font-medium">Live access tokens</h3>
        {identity.accessTokens.length === 0 ? (
          <p className="text-sm text-zinc-500">None.</p>
        ) : (
          <ul className="divide-y divide-zinc-100 text-sm">
            {identity.accessTokens.map((t) => (
              <li
                key={t.id}
                className="flex flex-wrap items-center justify-between gap-2 py-1.5"
                data-testid="access-token-row"
              >
                <span>
                  Issued {formatTime(t.createdAt)}
                  {t.ip ? ` to ${t.ip}` : ""} · expires {formatTime(t.expiresAt)} · {t.numUses} request
                  {t.numUses === 1 ? "" : "s"}
                  {t.numUsesLimit ? ` of ${t.numUsesLimit}` : ""}
                </span>
                {canEdit ? (
                  <button
                    type="button"
                    className="btn-ghost px-2 py-1 text-xs text-red-700"
                    onClick={() => revokeToken.mutate({ ...ref, tokenId: t.id })}
                  >
                    Revoke
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </section>

      {can("delete", "identity") ? (
        <form
          className="flex flex-wrap items-center gap-2 p-4"
          onSubmit={(e) => {
            e.preventDefault();
            if (confirmDelete === identity.name) remove.mutate(ref);
          }}
        >
          <label htmlFor={`delete-${identity.id}`} className="text-sm text-zinc-600">
            Type <strong>{identity.name}</strong> to delete this identity, its secrets and tokens
          </label>
          <input
            id={`delete-${identity.id}`}
            className="input w-48 py-1"
            autoComplete="off"
            value={confirmDelete}
            onChange={(e) => setConfirmDelete(e.target.value)}
          />
          <button type="submit" className="btn-danger" disabled={confirmDelete !== identity.name || remove.isPending}>
            Delete identity
          </button>
        </form>
      ) : null}
    </li>
  );
}
