insert into app.note (id, org_id, body, level) values ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-00000000000a', 'x', 'high');
