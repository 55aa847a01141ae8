-- One row per age band (18-24, 25-34, 35-44, 45-54, 55-64, 65+, and 'under 18' / 'unknown' should a user
-- be younger or have no age). Additive: the users synced since the last build are counted and added.

{{
    config(
        unique_key='age_band',
        pre_hook=["{{ lock_incremental_chain() }}"],
        indexes=[{'columns': ['age_band'], 'unique': True}],
    )
}}

{{ assert_upstream_not_rebuilt(ref('incoming_users')) }}

with

new_users as (

    select age from {{ ref('incoming_users') }}
    {% if is_incremental() %}
        where {{ synced_since_last_build() }}
    {% endif %}

),

banded as (

    select
        {{ age_band('age') }} as age_band,
        {{ age_band_order('age') }} as band_order

    from new_users

),

batch_counts as (

    select
        age_band,
        band_order,
        count(*) as user_count

    from banded
    group by 1, 2

),

final as (

    select
        batch_counts.age_band,
        batch_counts.band_order,
        batch_counts.user_count
        {% if is_incremental() %} + coalesce(held.user_count, 0) {% endif %} as user_count,
        {{ batch_timestamp() }} as updated_at

    from batch_counts
    {% if is_incremental() %}
        left join {{ this }} as held on held.age_band = batch_counts.age_band
    {% endif %}

)

select * from final
