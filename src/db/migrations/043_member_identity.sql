-- Users are global (one e-mail, one person, members of several tenants), but a tenant may create one
-- with a password it chooses (POST /v1/members) and nobody proves the address is theirs. A tenant
-- could create ceo@victim.example with its own password; when the victim's organisation later added
-- that address, the squatting tenant's password signed in to it (decision 054).
-- Now a user whose password a tenant set is that tenant's: other tenants cannot add them, and they
-- go with that tenant. Users made by the operator (CLI, superadmins) have no managing tenant and may
-- be added anywhere. Users from before this migration keep none (as before).
alter table users add column managed_by_tenant text references tenants(id) on delete cascade;
create index users_managed_by_tenant on users (managed_by_tenant) where managed_by_tenant is not null;
