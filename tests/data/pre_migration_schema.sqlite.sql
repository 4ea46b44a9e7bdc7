-- The schema SQLModel.metadata.create_all made on sqlite before caredesk had migrations
-- (frozen at the baseline, 0001_baseline): tests/integration/test_migrations.py adopts it.

CREATE TABLE ticket (
	id INTEGER NOT NULL,
	reference VARCHAR(32) NOT NULL,
	status VARCHAR(32) NOT NULL,
	department VARCHAR(64) NOT NULL,
	product VARCHAR(64),
	severity VARCHAR(16) NOT NULL,
	escalated BOOLEAN NOT NULL,
	tags TEXT NOT NULL,
	sla_class VARCHAR(64),
	category VARCHAR(64),
	channel VARCHAR(32) NOT NULL,
	origin VARCHAR(64) NOT NULL,
	customer_email VARCHAR(320) NOT NULL,
	customer_name VARCHAR(320) NOT NULL,
	customer_organisation VARCHAR(320) NOT NULL,
	pic_phone VARCHAR(64) NOT NULL,
	pic_email VARCHAR(320) NOT NULL,
	language VARCHAR(8) NOT NULL,
	subject VARCHAR(998) NOT NULL,
	description TEXT NOT NULL,
	root_cause TEXT,
	corrective_action TEXT,
	action_target DATE,
	preventive_action TEXT,
	effectiveness TEXT,
	completed_at DATETIME,
	closed_by VARCHAR(320),
	rules_version VARCHAR(32) NOT NULL,
	received_at DATETIME NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	first_response_due DATETIME,
	resolution_due DATETIME,
	first_responded_at DATETIME,
	watchers TEXT NOT NULL,
	related_ticket_id INTEGER,
	survey_score INTEGER,
	survey_comment TEXT,
	PRIMARY KEY (id),
	FOREIGN KEY(related_ticket_id) REFERENCES ticket (id)
);

CREATE INDEX ix_ticket_status ON ticket (status);

CREATE INDEX ix_ticket_department ON ticket (department);

CREATE UNIQUE INDEX ix_ticket_reference ON ticket (reference);

CREATE INDEX ix_ticket_customer_email ON ticket (customer_email);

CREATE TABLE address_status (
	address VARCHAR(320) NOT NULL,
	undeliverable_until DATETIME NOT NULL,
	reason TEXT NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (address)
);

CREATE TABLE setting (
	"key" VARCHAR(64) NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY ("key")
);

CREATE TABLE job_claim (
	job VARCHAR(64) NOT NULL,
	period VARCHAR(255) NOT NULL,
	claimed_at DATETIME NOT NULL,
	owner VARCHAR(128) NOT NULL,
	PRIMARY KEY (job, period)
);

CREATE TABLE mailbox_checkpoint (
	source VARCHAR(512) NOT NULL,
	uidvalidity INTEGER NOT NULL,
	last_uid INTEGER NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (source)
);

CREATE TABLE reference_counter (
	"key" VARCHAR(32) NOT NULL,
	value INTEGER NOT NULL,
	PRIMARY KEY ("key")
);

CREATE TABLE inbound_message (
	id INTEGER NOT NULL,
	source VARCHAR(512) NOT NULL,
	source_key VARCHAR(255) NOT NULL,
	uidvalidity INTEGER,
	uid INTEGER,
	raw BLOB NOT NULL,
	raw_sha256 VARCHAR(64) NOT NULL,
	size INTEGER NOT NULL,
	message_id VARCHAR(998),
	logical_key VARCHAR(64),
	from_address VARCHAR(320) NOT NULL,
	subject VARCHAR(998) NOT NULL,
	state VARCHAR(16) NOT NULL,
	reason TEXT NOT NULL,
	next_attempt_at DATETIME,
	notes TEXT NOT NULL,
	stage VARCHAR(32),
	error TEXT,
	traceback TEXT,
	attempts INTEGER NOT NULL,
	ticket_id INTEGER,
	disposition VARCHAR(16) NOT NULL,
	received_at DATETIME NOT NULL,
	arrived_at DATETIME,
	processed_at DATETIME,
	PRIMARY KEY (id),
	CONSTRAINT uq_inbound_source_key UNIQUE (source, source_key),
	FOREIGN KEY(ticket_id) REFERENCES ticket (id)
);

CREATE INDEX ix_inbound_message_raw_sha256 ON inbound_message (raw_sha256);

CREATE INDEX ix_inbound_message_ticket_id ON inbound_message (ticket_id);

CREATE INDEX ix_inbound_message_state ON inbound_message (state);

CREATE INDEX ix_inbound_message_logical_key ON inbound_message (logical_key);

CREATE INDEX ix_inbound_message_message_id ON inbound_message (message_id);

CREATE INDEX ix_inbound_message_disposition ON inbound_message (disposition);

CREATE TABLE outbound_message (
	id INTEGER NOT NULL,
	kind VARCHAR(32) NOT NULL,
	ticket_id INTEGER,
	cause_inbound_id INTEGER,
	recipient VARCHAR(320) NOT NULL,
	envelope_from VARCHAR(320) NOT NULL,
	message_id VARCHAR(998) NOT NULL,
	automatic BOOLEAN NOT NULL,
	subject VARCHAR(998) NOT NULL,
	raw BLOB NOT NULL,
	state VARCHAR(16) NOT NULL,
	attempts INTEGER NOT NULL,
	next_attempt_at DATETIME NOT NULL,
	last_code INTEGER,
	last_error TEXT,
	lease_owner VARCHAR(128),
	lease_until DATETIME,
	created_at DATETIME NOT NULL,
	sent_at DATETIME,
	PRIMARY KEY (id),
	CONSTRAINT uq_outbound_cause UNIQUE (kind, cause_inbound_id, recipient),
	FOREIGN KEY(ticket_id) REFERENCES ticket (id),
	FOREIGN KEY(cause_inbound_id) REFERENCES inbound_message (id),
	UNIQUE (message_id)
);

CREATE INDEX ix_outbound_message_ticket_id ON outbound_message (ticket_id);

CREATE INDEX ix_outbound_message_state ON outbound_message (state);

CREATE INDEX ix_outbound_message_recipient ON outbound_message (recipient);

CREATE INDEX ix_outbound_message_next_attempt_at ON outbound_message (next_attempt_at);

CREATE TABLE recap_file (
	id INTEGER NOT NULL,
	branch VARCHAR(64) NOT NULL,
	month VARCHAR(7) NOT NULL,
	received_at DATETIME NOT NULL,
	inbound_id INTEGER,
	filename VARCHAR(255) NOT NULL,
	sha256 VARCHAR(64) NOT NULL,
	size INTEGER NOT NULL,
	raw BLOB NOT NULL,
	rows_total INTEGER NOT NULL,
	rows_imported INTEGER NOT NULL,
	rows_refused INTEGER NOT NULL,
	rows_created INTEGER NOT NULL,
	rows_updated INTEGER NOT NULL,
	rows_unchanged INTEGER NOT NULL,
	problems TEXT NOT NULL,
	state VARCHAR(16) NOT NULL,
	reason TEXT NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(inbound_id) REFERENCES inbound_message (id)
);

CREATE INDEX ix_recap_file_branch ON recap_file (branch);

CREATE INDEX ix_recap_file_month ON recap_file (month);

CREATE INDEX ix_recap_file_sha256 ON recap_file (sha256);

CREATE INDEX ix_recap_file_state ON recap_file (state);

CREATE INDEX ix_recap_file_inbound_id ON recap_file (inbound_id);

CREATE TABLE ticket_event (
	id INTEGER NOT NULL,
	ticket_id INTEGER NOT NULL,
	at DATETIME NOT NULL,
	actor VARCHAR(320) NOT NULL,
	action VARCHAR(64) NOT NULL,
	field_name VARCHAR(64),
	old_value TEXT,
	new_value TEXT,
	reason TEXT NOT NULL,
	inbound_id INTEGER,
	outbound_id INTEGER,
	PRIMARY KEY (id),
	FOREIGN KEY(ticket_id) REFERENCES ticket (id),
	FOREIGN KEY(inbound_id) REFERENCES inbound_message (id),
	FOREIGN KEY(outbound_id) REFERENCES outbound_message (id)
);

CREATE INDEX ix_ticket_event_ticket_id ON ticket_event (ticket_id);

CREATE TABLE recap_row_link (
	id INTEGER NOT NULL,
	branch VARCHAR(64) NOT NULL,
	month VARCHAR(7) NOT NULL,
	row_key VARCHAR(128) NOT NULL,
	ticket_id INTEGER,
	recap_file_id INTEGER,
	sheet VARCHAR(255) NOT NULL,
	"row" INTEGER NOT NULL,
	fingerprint VARCHAR(64) NOT NULL,
	row_values TEXT NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_recap_row_key UNIQUE (branch, month, row_key),
	FOREIGN KEY(ticket_id) REFERENCES ticket (id),
	FOREIGN KEY(recap_file_id) REFERENCES recap_file (id)
);

CREATE INDEX ix_recap_row_link_ticket_id ON recap_row_link (ticket_id);

CREATE INDEX ix_recap_row_link_recap_file_id ON recap_row_link (recap_file_id);

CREATE TABLE recap_attachment (
	id INTEGER NOT NULL,
	inbound_id INTEGER NOT NULL,
	recap_file_id INTEGER,
	branch VARCHAR(64) NOT NULL,
	month VARCHAR(7) NOT NULL,
	filename VARCHAR(255) NOT NULL,
	content_type VARCHAR(255) NOT NULL,
	size INTEGER NOT NULL,
	sha256 VARCHAR(64) NOT NULL,
	data BLOB NOT NULL,
	received_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(inbound_id) REFERENCES inbound_message (id),
	FOREIGN KEY(recap_file_id) REFERENCES recap_file (id)
);

CREATE INDEX ix_recap_attachment_month ON recap_attachment (month);

CREATE INDEX ix_recap_attachment_inbound_id ON recap_attachment (inbound_id);

CREATE INDEX ix_recap_attachment_recap_file_id ON recap_attachment (recap_file_id);

CREATE INDEX ix_recap_attachment_branch ON recap_attachment (branch);

CREATE INDEX ix_recap_attachment_sha256 ON recap_attachment (sha256);
