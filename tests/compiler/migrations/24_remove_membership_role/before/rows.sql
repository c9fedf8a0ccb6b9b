insert into auth.users (id) values ('00000000-0000-0000-0000-0000000000f1');
insert into app.membership (org_id, user_id, role) values ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000f1', 'admin');
