insert into app.contact (id, org_id, full_name) values ('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-00000000000a', 'Ann');
insert into odoo.instances (id, org_id, name, base_url, database, login, secret_ref)
  values ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-00000000000a', 'main', 'http://odoo.invalid', 'odoo', 'admin', 'X');
insert into odoo.tag (id, org_id, instance_id, odoo_id, name)
  values ('00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-0000000000e1', 7, 'VIP');
