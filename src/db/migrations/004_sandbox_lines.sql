-- The built-in sandbox posts a line's webhooks to that channel's tokenised URL; it knows only the
-- line id, so it asks for the token here (sandbox lines only).
create function sb_sandbox_webhook_token(p_line text) returns text
language sql stable security definer set search_path = public as $$
  select c.webhook_token from channels c where c.provider = 'sandbox' and c.external_id = p_line
$$;
